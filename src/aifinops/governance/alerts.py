"""Budget alerts: which ones a moment calls for, recorded once in ``budget_alerts``.

`evaluate_alerts` looks at every budget's spend so far in its own period (the row of
`aifinops.governance.status.budget_status`, as ``aifinops budget status`` shows it) and
at the last complete UTC day of every team and feature (daily rollup,
`aifinops.governance.anomaly`). Kinds and levels:

- ``threshold`` / N: the spend reached N % of the amount (each soft threshold);
- ``hard_limit`` / hard_limit_pct: the spend reached the hard limit;
- ``projected`` / hard_limit_pct: the **forecast** of the period's spend reaches the
  hard limit while the spend so far is still below it. The forecast is the linear run
  rate: spend so far × period length ÷ elapsed time (`budget_status`'s projection). It
  raises an alert only once at least 10 % of the period has gone (3 days of a month,
  17 h of a week, 2.4 h of a day): earlier, one busy hour would look like a month's
  overspend;
- ``anomaly`` / 0: a team's (``team:T``) or feature's (``feature:F``) spend on the last
  complete UTC day beyond its 14-day baseline; ``period_start`` is that day.

Each candidate is inserted with ON CONFLICT DO NOTHING against the unique index on
(subject, period_start, kind, level), and only the rows this call inserted are
returned: whoever inserts a row delivers it, so a crossing is sent once per (budget,
period, threshold) however many processes evaluate, and a restart never resends it.
The id is derived from that key, so a webhook receiver can deduplicate on it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, desc, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from aifinops.economics.store import feature_teams
from aifinops.governance.anomaly import Anomaly, find_anomalies
from aifinops.governance.budgets import Budget
from aifinops.governance.periods import period_bounds, tz_name
from aifinops.governance.status import budget_status
from aifinops.governance.status import top_features as status_top_features
from aifinops.ledger.schema import rollup_daily
from aifinops.ledger.schema_governance import budget_alerts
from aifinops.money import nusd_to_usd, usd_to_nusd
from aifinops.settings import AlertSettings, Settings

KINDS = ("threshold", "hard_limit", "projected", "anomaly")
STATUSES = ("pending", "delivered", "failed", "no_channel")
#: The forecast is made once this fraction of the period has elapsed.
MIN_ELAPSED = Fraction(1, 10)
FORECAST_METHOD = (
    "linear: spend so far × period length ÷ elapsed time (as aifinops budget status); "
    "a projected alert needs 10 % of the period elapsed"
)
TOP_FEATURES = 3


@dataclass(frozen=True, slots=True)
class Alert:
    """One row of ``budget_alerts``."""

    alert_id: str
    subject: str
    period_start: datetime
    kind: str
    level: int
    fired_at: datetime
    spend_nusd: int | None
    limit_nusd: int | None
    details: dict[str, Any]
    channel: str | None
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping | Mapping[str, Any]) -> Alert:
        return cls(
            alert_id=row["alert_id"],
            subject=row["subject"],
            period_start=_aware(row["period_start"]),
            kind=row["kind"],
            level=int(row["level"]),
            fired_at=_aware(row["fired_at"]),
            spend_nusd=row["spend_nusd"],
            limit_nusd=row["limit_nusd"],
            details=dict(row["details"] or {}),
            channel=row["channel"],
            status=row["status"],
            attempts=int(row["attempts"]),
            last_error=row["last_error"],
            delivered_at=_aware(row["delivered_at"]) if row["delivered_at"] else None,
        )

    @property
    def labels(self) -> list[str]:
        """The channels the alert goes to (``slack:#ai-spend-sales``, ``webhook``)."""
        return [p.strip() for p in (self.channel or "").split(",") if p.strip()]

    def summary(self) -> dict[str, Any]:
        """A flat object for ``alerts list --format json`` (money as decimal USD)."""
        d = self.details
        return {
            "alert_id": self.alert_id,
            "fired_at": iso(self.fired_at),
            "kind": self.kind,
            "subject": self.subject,
            "level": self.level,
            "team": d.get("team"),
            "period_start": iso(self.period_start),
            "spend_usd": nusd_to_usd(self.spend_nusd),
            "limit_usd": nusd_to_usd(self.limit_nusd),
            "pct_of_budget": d.get("pct_of_budget"),
            "projected_usd": d.get("projected_usd"),
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "delivered_at": iso(self.delivered_at) if self.delivered_at else None,
        }


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def alert_id(subject: str, period_start: datetime, kind: str, level: int) -> str:
    """The same id for the same (subject, period, kind, level) in every process."""
    key = f"{subject}\n{iso(period_start)}\n{kind}\n{level}"
    return "al_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def forecast_nusd(spent_nusd: int, start: datetime, end: datetime, at: datetime) -> int | None:
    """The period's spend at this run rate (None before 10 % of the period elapsed);
    the projection of `aifinops.governance.status.budget_status`, floored to the nano-USD."""
    total = (end - start) // timedelta(microseconds=1)
    elapsed = (min(at, end) - start) // timedelta(microseconds=1)
    if total <= 0 or elapsed < total * MIN_ELAPSED:
        return None
    return spent_nusd * total // elapsed  # as `budget_status` projects it


def pct(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal (``"95.0"``)."""
    if not whole:
        return "0.0"
    value = Decimal(part * 100) / Decimal(whole)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def dashboard_link(base: str, **params: str) -> str:
    return f"{base}?{urlencode(params)}" if params else base


# --- what a budget's spend calls for ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    subject: str
    period_start: datetime
    kind: str
    level: int
    spend_nusd: int | None
    limit_nusd: int | None

    @property
    def key(self) -> tuple[str, datetime, str, int]:
        return (self.subject, self.period_start, self.kind, self.level)


def budget_candidates(
    budget: Budget, spent: int, start: datetime, end: datetime, at: datetime
) -> list[_Candidate]:
    """The alerts a budget's spend so far calls for (pure)."""
    out = [
        _Candidate(budget.id, start, "threshold", t, spent, budget.threshold_nusd(t))
        for t in budget.thresholds
        if spent >= budget.threshold_nusd(t)
    ]
    hard = budget.hard_limit_nusd
    if spent >= hard:
        out.append(_Candidate(budget.id, start, "hard_limit", budget.hard_limit_pct, spent, hard))
    forecast = forecast_nusd(spent, start, end, at)
    if forecast is not None and spent < hard <= forecast:
        out.append(_Candidate(budget.id, start, "projected", budget.hard_limit_pct, forecast, hard))
    return out


def _feature_share(name: str | None, spend: int, total: int) -> dict[str, Any]:
    return {
        "feature": name or None,
        "spend_usd": nusd_to_usd(spend),
        "share_pct": pct(spend, total),
    }


def budget_team(budget: Budget, teams_of_features: Mapping[str, str]) -> str | None:
    """The team whose channel hears about the budget (a feature's owning team)."""
    if budget.scope == "team":
        return budget.name
    if budget.scope == "feature" and budget.name:
        return teams_of_features.get(budget.name)
    return None


def _budget_details(
    budget: Budget,
    status: Mapping[str, Any],
    team: str | None,
    at: datetime,
    settings: AlertSettings,
) -> dict[str, Any]:
    """What the message shows, from the budget's status row (`budget_status`): the same
    spend, projection and top features as ``aifinops budget status``."""
    spent = usd_to_nusd(status["spend_usd"])
    projected = usd_to_nusd(status["projected_usd"])
    top = [
        _feature_share(f, usd_to_nusd(usd), spent) for f, usd in status_top_features(dict(status))
    ]
    return {
        "budget_id": budget.id,
        "scope": budget.scope,
        "name": budget.name,
        "team": team,
        "period": budget.period,
        "timezone": tz_name(budget.tz_hours),
        "period_start": status["period_start"],
        "period_end": status["period_end"],
        "elapsed_pct": status["elapsed_pct"],
        "cost": budget.cost,
        "amount_usd": nusd_to_usd(budget.amount_nusd),
        "spend_usd": nusd_to_usd(spent),
        "pct_of_budget": pct(spent, budget.amount_nusd),
        "hard_limit_pct": budget.hard_limit_pct,
        "hard_limit_usd": nusd_to_usd(budget.hard_limit_nusd),
        "action": budget.action,
        "projected_usd": nusd_to_usd(projected),
        "projected_pct": pct(projected, budget.amount_nusd),
        "forecast_method": FORECAST_METHOD,
        "top_features": top,
        "evaluated_at": iso(at),
        "dashboard_url": dashboard_link(settings.dashboard_url, budget=budget.id),
    }


def _anomaly_details(
    conn: Connection, anomaly: Anomaly, team: str | None, settings: AlertSettings
) -> dict[str, Any]:
    top: list[dict[str, Any]] = []
    if anomaly.dimension == "team":
        spend = func.sum(rollup_daily.c.effective_cost_nusd)
        stmt = (
            select(rollup_daily.c.feature, spend)
            .where(and_(rollup_daily.c.day == anomaly.day, rollup_daily.c.team == anomaly.name))
            .group_by(rollup_daily.c.feature)
            .order_by(desc(spend))
            .limit(TOP_FEATURES)
        )
        top = [
            _feature_share(name, int(value or 0), anomaly.spend_nusd)
            for name, value in conn.execute(stmt)
        ]
    params = {anomaly.dimension: anomaly.name, "day": anomaly.day.isoformat()}
    return {
        "scope": anomaly.dimension,
        "name": anomaly.name,
        "team": team,
        "day": anomaly.day.isoformat(),
        "spend_usd": nusd_to_usd(anomaly.spend_nusd),
        "baseline_median_usd": nusd_to_usd(anomaly.median_nusd),
        "baseline_mad_usd": nusd_to_usd(anomaly.mad_nusd),
        "bound_usd": nusd_to_usd(anomaly.bound_nusd),
        "times_median": anomaly.ratio,
        "history_days": anomaly.history_days,
        "top_features": top,
        "dashboard_url": dashboard_link(settings.dashboard_url, **params),
    }


# --- persisting: insert once, return what this call inserted ----------------------------


def channel_labels(settings: AlertSettings, team: str | None) -> list[str]:
    """Where an alert for ``team`` goes: its Slack webhook (or the default one), labelled
    with the team's channel from the config, and the generic webhook. Labels only: the
    URLs stay in the environment."""
    labels = []
    if settings.slack_url_for(team):
        labels.append(f"slack:{settings.channel_of(team) or (team or 'default')}")
    if settings.webhook_url:
        labels.append("webhook")
    return labels


def _existing_keys(
    conn: Connection, candidates: Sequence[_Candidate]
) -> set[tuple[str, datetime, str, int]]:
    """The candidates' keys already in ``budget_alerts`` (one query)."""
    if not candidates:
        return set()
    subjects = sorted({c.subject for c in candidates})
    first = min(c.period_start for c in candidates)
    stmt = select(
        budget_alerts.c.subject,
        budget_alerts.c.period_start,
        budget_alerts.c.kind,
        budget_alerts.c.level,
    ).where(and_(budget_alerts.c.subject.in_(subjects), budget_alerts.c.period_start >= first))
    return {(s, _aware(p), k, int(lv)) for s, p, k, lv in conn.execute(stmt)}


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> list[Alert]:
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(budget_alerts).on_conflict_do_nothing()
    inserted = {r[0] for r in conn.execute(stmt.returning(budget_alerts.c.alert_id), rows)}
    return [Alert.from_row(row) for row in rows if row["alert_id"] in inserted]


def raise_counters_down(
    conn: Connection, settings: AlertSettings, mode: str, error: str, at: datetime
) -> list[Alert]:
    """The gateway could not reach its shared budget counters: one alert per UTC hour
    (kind ``counters_down``), delivered by the next evaluation run like any other."""
    at = _aware(at)
    hour = at.replace(minute=0, second=0, microsecond=0)
    labels = channel_labels(settings, None)
    row = _row(
        _Candidate("counters:redis", hour, "counters_down", 0, None, None),
        {"mode": mode, "error": error, "at": iso(at)},
        labels,
        at,
    )
    return _insert(conn, [row])


def _row(
    candidate: _Candidate,
    details: dict[str, Any],
    labels: list[str],
    at: datetime,
) -> dict[str, Any]:
    c = candidate
    return {
        "alert_id": alert_id(c.subject, c.period_start, c.kind, c.level),
        "subject": c.subject,
        "period_start": c.period_start,
        "kind": c.kind,
        "level": c.level,
        "fired_at": at,
        "spend_nusd": c.spend_nusd,
        "limit_nusd": c.limit_nusd,
        "details": {**details, "threshold_pct": c.level if c.kind == "threshold" else None},
        "channel": ", ".join(labels) or None,
        "status": "pending" if labels else "no_channel",
        "attempts": 0,
        "last_error": None,
        "delivered_at": None,
    }


def evaluate_alerts(
    conn: Connection, budgets: Iterable[Budget], at: datetime, settings: Settings
) -> list[Alert]:
    """Record the alerts that ``at`` calls for; the ones this call inserted (to deliver).

    ``conn`` should be in a transaction of its own (``engine.begin()``): the rows are
    inserted at the end in one statement, after every read.
    """
    at = _aware(at)
    alerts = settings.alerts
    teams = feature_teams(conn, settings.economics)
    measured = []
    for budget in budgets:
        status = budget_status(conn, budget, at)
        start, end = period_bounds(budget.period, budget.tz_hours, at)
        spent = usd_to_nusd(status["spend_usd"])
        candidates = budget_candidates(budget, spent, start, end, at)
        if candidates:
            measured.append((budget, status, candidates))
    day = at.date() - timedelta(days=1)
    anomalies = find_anomalies(conn, day, usd_to_nusd(str(alerts.anomaly_min_usd)))
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    anomaly_candidates = [
        (a, _Candidate(a.subject, day_start, "anomaly", 0, a.spend_nusd, a.bound_nusd))
        for a in anomalies
    ]
    known = _existing_keys(
        conn,
        [c for *_, cs in measured for c in cs] + [c for _, c in anomaly_candidates],
    )
    rows: list[dict[str, Any]] = []
    for budget, status, candidates in measured:
        fresh = [c for c in candidates if c.key not in known]
        if not fresh:
            continue
        team = budget_team(budget, teams)
        details = _budget_details(budget, status, team, at, alerts)
        labels = channel_labels(alerts, team)
        rows.extend(_row(c, details, labels, at) for c in fresh)
    for anomaly, candidate in anomaly_candidates:
        if candidate.key in known:
            continue
        team = anomaly.name if anomaly.dimension == "team" else teams.get(anomaly.name)
        details = _anomaly_details(conn, anomaly, team, alerts)
        rows.append(_row(candidate, details, channel_labels(alerts, team), at))
    return _insert(conn, rows)


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visible:
    """The alerts a scoped reader may see: those of ``budget_ids`` (threshold, hard
    limit, projected) and the anomalies of ``anomaly_subjects`` (``team:T``)."""

    budget_ids: tuple[str, ...]
    anomaly_subjects: tuple[str, ...]

    @classmethod
    def of_team(cls, team: str, budgets: Iterable[Budget]) -> Visible:
        """Team T's: the budgets whose scope is team T (as ``/api/v1/budgets`` shows a
        team token) and T's own anomalies. Not a feature's budget or anomaly, even of a
        feature T owns, nor the alerts of a budget since deleted: when in doubt, out."""
        ids = tuple(b.id for b in budgets if b.scope == "team" and b.name == team)
        return cls(ids, (f"team:{team}",))


def list_alerts(
    conn: Connection,
    *,
    since: date | None = None,
    until: date | None = None,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    limit: int = 100,
    visible: Visible | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[Alert]:
    """The newest alerts first (at most ``limit``), fired on UTC days ``since`` …
    ``until`` (inclusive; either open), only the ``visible`` ones if given; ``after``
    (the ``fired_at`` and ``alert_id`` of the last alert of a page) starts the next
    page: the order is ``fired_at`` descending, then ``alert_id``."""
    c = budget_alerts.c
    conds = []
    if after is not None:
        fired, last_id = after
        conds.append(or_(c.fired_at < fired, and_(c.fired_at == fired, c.alert_id > last_id)))
    if since is not None:
        conds.append(c.fired_at >= datetime(since.year, since.month, since.day, tzinfo=UTC))
    if until is not None:
        end = until + timedelta(days=1)
        conds.append(c.fired_at < datetime(end.year, end.month, end.day, tzinfo=UTC))
    if statuses:
        conds.append(c.status.in_(list(statuses)))
    if kinds:
        conds.append(c.kind.in_(list(kinds)))
    if visible is not None:
        conds.append(
            or_(
                and_(c.kind != "anomaly", c.subject.in_(list(visible.budget_ids))),
                and_(c.kind == "anomaly", c.subject.in_(list(visible.anomaly_subjects))),
            )
        )
    stmt = select(budget_alerts).where(*conds).order_by(desc(c.fired_at), c.alert_id).limit(limit)
    return [Alert.from_row(row) for row in conn.execute(stmt).mappings()]


def alerts_document(alerts: Sequence[Alert], meta: dict[str, Any]) -> dict[str, Any]:
    """``{"rows", "totals", "meta"}`` of ``alerts list --format json`` and
    ``/api/v1/alerts``: the rows and their count per delivery status."""
    by_status = dict.fromkeys(STATUSES, 0)
    for alert in alerts:
        by_status[alert.status] = by_status.get(alert.status, 0) + 1
    return {
        "rows": [a.summary() for a in alerts],
        "totals": {"alerts": len(alerts), **by_status},
        "meta": meta,
    }


def undelivered(
    conn: Connection, max_attempts: int, exclude: Iterable[str] = (), limit: int = 100
) -> list[Alert]:
    """Alerts whose delivery failed or was cut short and still has attempts left."""
    stmt = (
        select(budget_alerts)
        .where(
            and_(
                or_(budget_alerts.c.status == "pending", budget_alerts.c.status == "failed"),
                budget_alerts.c.attempts < max_attempts,
                budget_alerts.c.alert_id.not_in(list(exclude)),
            )
        )
        .order_by(budget_alerts.c.fired_at, budget_alerts.c.alert_id)
        .limit(limit)
    )
    return [Alert.from_row(row) for row in conn.execute(stmt).mappings()]
