"""The monthly FinOps review (`aifinops report review --month M`): the agenda of the
engineering–product–finance meeting, as one document rendered to Markdown, HTML or JSON.

The document follows the report contract — ``rows`` (one per team), ``totals``,
``meta`` — with one more key per agenda section:

- ``rows``: per team, the month's effective spend (UTC calendar month, ``rollup_daily``),
  its monthly team budget and the share used (measured as the budget measures: its own
  time zone and cost basis), last month's spend and the change of the daily run rate,
  the alerts it raised and the budget proposed for next month;
- ``alerts``: every alert fired in the month (``budget_alerts``), with its delivery;
- ``rejections``: requests the gateway throttled or refused for a budget or a rate limit
  (``gateway_rejections`` whose reason starts with ``budget_`` or ``rate_limit``),
  counted per reason, team and status;
- ``features_moved``: the 10 features whose daily run rate changed most from last month;
- ``unit_economics``: features whose cost per successful outcome is in ``review`` status
  or whose recommendation is not ``keep`` (`aifinops.economics`);
- ``proposals``: next month's budget per team.

**Run rate.** A month's spend ÷ the days of it the ledger covers (from the first day
with any recorded spend, up to the month's end or to now for the month in progress), so
a month the ledger only partly covers is compared fairly.

**Proposed budget.** This month's run rate × (1 + growth) × the days of next month ×
1.10 headroom, rounded up to 3 significant figures. Growth is the change of the run
rate from last month, capped to −25 % … +50 % (0 without a last month), so one odd
month cannot double or halve a budget.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, desc, func, or_, select
from sqlalchemy.engine import Connection

from aifinops.economics.document import economics_document
from aifinops.economics.numbers import EconomicsQuery, compute
from aifinops.economics.settings import EconomicsSettings
from aifinops.governance.alerts import Alert, iso
from aifinops.governance.budgets import Budget
from aifinops.governance.periods import period_bounds
from aifinops.governance.spend import spend_between
from aifinops.ledger.schema import gateway_rejections, rollup_daily
from aifinops.ledger.schema_governance import budget_alerts
from aifinops.money import nusd_to_usd
from aifinops.periods import month_bounds

GROWTH_CAP = (Fraction(-25, 100), Fraction(50, 100))
HEADROOM = Fraction(110, 100)
MOVERS = 10
MAX_ALERTS = 500
REJECTION_PREFIXES = ("budget_", "rate_limit")
PROPOSAL_METHOD = (
    "this month's daily run rate × (1 + growth of the run rate from last month, capped to "
    "-25 %…+50 %) × days of next month × 1.10 headroom, rounded up to 3 significant figures"
)
NO_TEAM = "(no team)"


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        nxt = self.last + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC)

    @property
    def label(self) -> str:
        return self.first.strftime("%Y-%m")

    def previous(self) -> Month:
        prev = self.first - timedelta(days=1)
        return Month(*month_bounds(prev.year, prev.month))

    def following(self) -> Month:
        nxt = self.last + timedelta(days=1)
        return Month(*month_bounds(nxt.year, nxt.month))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


# --- figures ----------------------------------------------------------------------------


def _spend_by(conn: Connection, dimension: str, month: Month) -> dict[str, int]:
    column = rollup_daily.c[dimension]
    stmt = (
        select(column, func.sum(rollup_daily.c.effective_cost_nusd))
        .where(and_(rollup_daily.c.day >= month.first, rollup_daily.c.day <= month.last))
        .group_by(column)
    )
    return {name: int(total or 0) for name, total in conn.execute(stmt)}


def first_day(conn: Connection) -> date | None:
    value = conn.execute(select(func.min(rollup_daily.c.day))).scalar()
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def covered_days(month: Month, since: date | None, now: datetime) -> Fraction:
    """The days of ``month`` the ledger covers: from its first day with spend, up to the
    month's end or ``now``."""
    if since is None:
        return Fraction(0)
    start = max(month.start, datetime(since.year, since.month, since.day, tzinfo=UTC))
    end = min(month.end, now)
    if end <= start:
        return Fraction(0)
    return Fraction((end - start) // timedelta(seconds=1), 86400)


def run_rate(spend_nusd: int, days: Fraction) -> Fraction | None:
    return Fraction(spend_nusd) / days if days > 0 else None


def growth(current: Fraction | None, previous: Fraction | None) -> Fraction:
    """The run rate's change from last month, capped (0 without a last month)."""
    if current is None or not previous:
        return Fraction(0)
    low, high = GROWTH_CAP
    return min(max(current / previous - 1, low), high)


def three_figures(nusd: Fraction) -> Decimal:
    """USD rounded up to 3 significant figures (``246.12`` → ``247``, ``4.137`` → ``4.14``)."""
    usd = Decimal(nusd.numerator) / Decimal(nusd.denominator) / Decimal(10**9)
    if usd <= 0:
        return Decimal(0)
    step = Decimal(1).scaleb(usd.adjusted() - 2)
    return (usd / step).to_integral_value(rounding=ROUND_CEILING) * step


def usd_text(amount: Decimal) -> str:
    """Two decimals from a dollar up, the significant digits below it."""
    return f"{amount:.2f}" if amount >= 1 else f"{amount.normalize():f}"


def proposal(
    rate: Fraction | None, previous_rate: Fraction | None, next_days: int
) -> tuple[Fraction, Decimal | None]:
    g = growth(rate, previous_rate)
    if not rate:
        return g, None
    return g, three_figures(rate * (1 + g) * next_days * HEADROOM)


def _pct(value: Fraction | None) -> str | None:
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator) * 100
    return str(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _usd(value: Fraction | int | None) -> str | None:
    if value is None:
        return None
    return nusd_to_usd(round(value))


def team_budgets(budgets: Iterable[Budget]) -> dict[str, Budget]:
    """Each team's monthly budget (the first, if several)."""
    out: dict[str, Budget] = {}
    for budget in budgets:
        if budget.scope == "team" and budget.period == "month" and budget.name:
            out.setdefault(budget.name, budget)
    return out


# --- sections --------------------------------------------------------------------------


def alerts_in(conn: Connection, month: Month) -> list[Alert]:
    stmt = (
        select(budget_alerts)
        .where(and_(budget_alerts.c.fired_at >= month.start, budget_alerts.c.fired_at < month.end))
        .order_by(budget_alerts.c.fired_at, budget_alerts.c.subject, budget_alerts.c.level)
        .limit(MAX_ALERTS)
    )
    return [Alert.from_row(row) for row in conn.execute(stmt).mappings()]


def _alert_row(alert: Alert) -> dict[str, Any]:
    d = alert.details
    return {
        "fired_at": iso(alert.fired_at),
        "kind": alert.kind,
        "subject": alert.subject,
        "level": alert.level,
        "team": d.get("team"),
        "spend_usd": nusd_to_usd(alert.spend_nusd),
        "limit_usd": nusd_to_usd(alert.limit_nusd),
        "pct_of_budget": d.get("pct_of_budget"),
        "status": alert.status,
        "channel": alert.channel,
    }


def rejections_in(conn: Connection, month: Month) -> list[dict[str, Any]]:
    t = gateway_rejections
    count = func.count()
    stmt = (
        select(t.c.reason, t.c.team, t.c.status, count)
        .where(
            and_(
                t.c.ts >= month.start,
                t.c.ts < month.end,
                or_(*(t.c.reason.like(f"{p}%") for p in REJECTION_PREFIXES)),
            )
        )
        .group_by(t.c.reason, t.c.team, t.c.status)
        .order_by(desc(count), t.c.reason, t.c.team)
    )
    return [
        {"reason": reason, "team": team, "status": int(status), "requests": int(n)}
        for reason, team, status, n in conn.execute(stmt)
    ]


def features_moved(
    conn: Connection,
    month: Month,
    days: tuple[Fraction, Fraction],
    teams_of_features: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The features whose daily run rate changed most from last month."""
    now, before = _spend_by(conn, "feature", month), _spend_by(conn, "feature", month.previous())
    rows = []
    for feature in sorted(set(now) | set(before)):
        rate = run_rate(now.get(feature, 0), days[0]) or Fraction(0)
        prev = run_rate(before.get(feature, 0), days[1]) or Fraction(0)
        rows.append(
            (
                abs(rate - prev),
                {
                    "feature": feature or None,
                    "team": teams_of_features.get(feature),
                    "spend_usd": nusd_to_usd(now.get(feature, 0)),
                    "previous_usd": nusd_to_usd(before.get(feature, 0)),
                    "per_day_usd": _usd(rate),
                    "previous_per_day_usd": _usd(prev),
                    "change_per_day_usd": _usd(rate - prev),
                    "change_pct": _pct(rate / prev - 1) if prev else None,
                },
            )
        )
    rows.sort(key=lambda r: (-r[0], r[1]["feature"] or ""))
    return [row for _, row in rows[:MOVERS]]


def economics_to_review(
    conn: Connection, month: Month, economics: EconomicsSettings
) -> list[dict[str, Any]]:
    doc = economics_document(compute(conn, EconomicsQuery(month.first, month.last)), economics)
    keep = (
        "feature",
        "spend_usd",
        "outcomes",
        "success_rate",
        "cost_per_successful_outcome_usd",
        "human_cost_ratio",
        "status",
        "trend",
        "recommendation",
        "reason",
    )
    return [
        {k: row.get(k) for k in keep}
        for row in doc["rows"]
        if row.get("status") == "review" or row.get("recommendation") != "keep"
    ]


# --- the document -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TeamFigures:
    spend: int
    previous: int
    rate: Fraction | None
    previous_rate: Fraction | None


def _team_row(
    conn: Connection,
    team: str,
    figures: _TeamFigures,
    budget: Budget | None,
    month: Month,
    alerts: Sequence[Alert],
) -> dict[str, Any]:
    budget_spend = None
    if budget is not None:
        middle = month.start + timedelta(days=15)
        start, end = period_bounds(budget.period, budget.tz_hours, middle)
        budget_spend = spend_between(conn, budget, start, end)
    g, proposed = proposal(figures.rate, figures.previous_rate, month.following().days)
    change = (
        figures.rate / figures.previous_rate - 1 if figures.rate and figures.previous_rate else None
    )
    return {
        "team": team,
        "spend_usd": nusd_to_usd(figures.spend),
        "budget_usd": nusd_to_usd(budget.amount_nusd) if budget else None,
        "pct_of_budget": _pct(Fraction(budget_spend, budget.amount_nusd))
        if budget is not None and budget_spend is not None
        else None,
        "previous_usd": nusd_to_usd(figures.previous),
        "per_day_usd": _usd(figures.rate),
        "previous_per_day_usd": _usd(figures.previous_rate),
        "change_pct": _pct(change),
        "alerts": sum(1 for a in alerts if a.details.get("team") == team),
        "growth_pct": _pct(g),
        "proposed_budget_usd": usd_text(proposed) if proposed is not None else None,
    }


def review_document(
    conn: Connection,
    month: Month,
    *,
    budgets: Sequence[Budget],
    economics: EconomicsSettings,
    teams: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The review of ``month`` (see the module docstring for every section)."""
    moment = now or datetime.now(UTC)
    since = first_day(conn)
    days = (covered_days(month, since, moment), covered_days(month.previous(), since, moment))
    spend, previous = _spend_by(conn, "team", month), _spend_by(conn, "team", month.previous())
    by_team = team_budgets(budgets)
    names = sorted((set(spend) | set(previous) | set(by_team) | set(teams)) - {""})
    if spend.get("") or previous.get(""):
        names.append("")
    alerts = alerts_in(conn, month)
    rows = []
    for team in names:
        figures = _TeamFigures(
            spend.get(team, 0),
            previous.get(team, 0),
            run_rate(spend.get(team, 0), days[0]),
            run_rate(previous.get(team, 0), days[1]),
        )
        row = _team_row(conn, team, figures, by_team.get(team), month, alerts)
        row["team"] = team or NO_TEAM
        rows.append(row)
    teams_of_features = {f.name: f.team for f in economics.features if f.team}
    rejections = rejections_in(conn, month)
    doc: dict[str, Any] = {
        "rows": rows,
        "totals": _totals(rows, alerts, rejections),
        "meta": {
            "report": "review",
            "month": month.label,
            "from": month.first.isoformat(),
            "to": month.last.isoformat(),
            "previous_month": month.previous().label,
            "next_month": month.following().label,
            "in_progress": moment < month.end,
            "covered_days": float(round(days[0], 2)),
            "previous_covered_days": float(round(days[1], 2)),
            "currency": "USD",
            "cost": "effective",
            "proposal_method": PROPOSAL_METHOD,
            "generated_at": iso(moment),
        },
        "alerts": [_alert_row(a) for a in alerts],
        "rejections": rejections,
        "features_moved": features_moved(conn, month, days, teams_of_features),
        "unit_economics": economics_to_review(conn, month, economics),
        "proposals": [
            {
                "team": r["team"],
                "budget_usd": r["budget_usd"],
                "per_day_usd": r["per_day_usd"],
                "growth_pct": r["growth_pct"],
                "proposed_budget_usd": r["proposed_budget_usd"],
            }
            for r in rows
            if r["team"] != NO_TEAM
        ],
    }
    return doc


def _sum_usd(values: Iterable[str | None]) -> str:
    return str(sum((Decimal(v) for v in values if v is not None), Decimal(0)))


def _totals(
    rows: Sequence[dict[str, Any]], alerts: Sequence[Alert], rejections: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    statuses: dict[str, int] = defaultdict(int)
    for alert in alerts:
        statuses[alert.status] += 1
    return {
        "spend_usd": _sum_usd(r["spend_usd"] for r in rows),
        "previous_usd": _sum_usd(r["previous_usd"] for r in rows),
        "budget_usd": _sum_usd(r["budget_usd"] for r in rows),
        "proposed_budget_usd": _sum_usd(r["proposed_budget_usd"] for r in rows),
        "alerts": len(alerts),
        "alerts_by_status": dict(sorted(statuses.items())),
        "throttled_or_refused": sum(r["requests"] for r in rejections),
    }


# --- rendering --------------------------------------------------------------------------

Column = tuple[str, str]

TEAM_COLUMNS: tuple[Column, ...] = (
    ("team", "team"),
    ("spend_usd", "spend"),
    ("budget_usd", "budget"),
    ("pct_of_budget", "% of budget"),
    ("previous_usd", "last month"),
    ("change_pct", "run-rate change"),
    ("alerts", "alerts"),
)
ALERT_COLUMNS: tuple[Column, ...] = (
    ("fired_at", "fired at"),
    ("kind", "kind"),
    ("subject", "subject"),
    ("level", "level %"),
    ("spend_usd", "spend"),
    ("limit_usd", "limit"),
    ("status", "delivery"),
)
REJECTION_COLUMNS: tuple[Column, ...] = (
    ("reason", "reason"),
    ("team", "team"),
    ("status", "HTTP"),
    ("requests", "requests"),
)
MOVER_COLUMNS: tuple[Column, ...] = (
    ("feature", "feature"),
    ("team", "team"),
    ("spend_usd", "spend"),
    ("previous_usd", "last month"),
    ("per_day_usd", "per day"),
    ("previous_per_day_usd", "per day before"),
    ("change_pct", "change"),
)
ECONOMICS_COLUMNS: tuple[Column, ...] = (
    ("feature", "feature"),
    ("spend_usd", "spend"),
    ("cost_per_successful_outcome_usd", "per success"),
    ("human_cost_ratio", "vs human"),
    ("status", "status"),
    ("recommendation", "recommendation"),
    ("reason", "why"),
)
PROPOSAL_COLUMNS: tuple[Column, ...] = (
    ("team", "team"),
    ("budget_usd", "budget now"),
    ("per_day_usd", "run rate per day"),
    ("growth_pct", "growth"),
    ("proposed_budget_usd", "proposed"),
)
_PCT = frozenset({"pct_of_budget", "change_pct", "growth_pct"})


def cell(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key.endswith("_usd"):
        amount = Decimal(str(value))
        places = Decimal("0.0001") if 0 < abs(amount) < 1 else Decimal("0.01")
        return f"${amount.quantize(places, rounding=ROUND_HALF_UP):,}"
    if key in _PCT:
        return f"{value} %"
    if key == "human_cost_ratio":
        return f"{float(value) * 100:.0f} %"
    return str(value)


def sections(
    doc: Mapping[str, Any],
) -> list[tuple[str, Sequence[Column], list[dict[str, Any]], str]]:
    """(title, columns, rows, note) of each agenda item, in meeting order."""
    meta = doc["meta"]
    moved = f"Daily run rate against {meta['previous_month']}."
    return [
        (
            "Spend by team: budget and last month",
            TEAM_COLUMNS,
            doc["rows"],
            "Effective cost, UTC calendar month; % of budget as the budget measures it.",
        ),
        (
            "Alerts fired",
            ALERT_COLUMNS,
            doc["alerts"],
            "Budget thresholds, hard limits, projections and anomalies raised in the month.",
        ),
        (
            "Throttled and refused requests",
            REJECTION_COLUMNS,
            doc["rejections"],
            "Requests the gateway held back for a budget or a rate limit.",
        ),
        ("Features that moved most", MOVER_COLUMNS, doc["features_moved"], moved),
        (
            "Unit economics to review",
            ECONOMICS_COLUMNS,
            doc["unit_economics"],
            "Cost per successful outcome in review status, or a recommendation other than keep.",
        ),
        (
            f"Proposed budgets for {meta['next_month']}",
            PROPOSAL_COLUMNS,
            doc["proposals"],
            f"Method: {PROPOSAL_METHOD}.",
        ),
    ]


def _title(doc: Mapping[str, Any]) -> str:
    meta = doc["meta"]
    progress = " (month to date)" if meta["in_progress"] else ""
    return f"FinOps review, {meta['month']}{progress}"


def markdown(doc: Mapping[str, Any]) -> str:
    """The agenda in GitHub-flavoured Markdown."""
    meta, totals = doc["meta"], doc["totals"]
    lines = [
        f"# {_title(doc)}",
        "",
        f"Spend {cell('x_usd', totals['spend_usd'])} (last month "
        f"{cell('x_usd', totals['previous_usd'])}), budgets {cell('x_usd', totals['budget_usd'])}; "
        f"{totals['alerts']} alerts, {totals['throttled_or_refused']} requests throttled or "
        f"refused. Generated {meta['generated_at']}.",
    ]
    for i, (title, columns, rows, note) in enumerate(sections(doc), 1):
        lines += ["", f"## {i}. {title}", "", note, ""]
        if not rows:
            lines.append("_None._")
            continue
        lines.append("| " + " | ".join(label for _, label in columns) + " |")
        lines.append("| " + " | ".join("---" for _ in columns) + " |")
        for row in rows:
            cells = (cell(k, row.get(k)).replace("|", "\\|") for k, _ in columns)
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Decisions",
        "",
        f"- [ ] Approve the budgets for {meta['next_month']} (or amend them)",
        "- [ ] An owner and a date for each feature to review",
        "- [ ] Follow-up on every hard limit reached and every anomaly",
        "",
    ]
    return "\n".join(lines)


def html_page(doc: Mapping[str, Any]) -> str:
    """The agenda as a standalone, printable HTML page (values escaped)."""
    esc = html.escape
    parts = []
    for i, (title, columns, rows, note) in enumerate(sections(doc), 1):
        parts.append(f"<h2>{i}. {esc(title)}</h2><p>{esc(note)}</p>")
        if not rows:
            parts.append("<p><em>None.</em></p>")
            continue
        head = "".join(f"<th>{esc(label)}</th>" for _, label in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(cell(k, row.get(k)))}</td>" for k, _ in columns) + "</tr>"
            for row in rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    title = _title(doc)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}@media print{body{margin:0}}"
        f"</style></head><body><h1>{esc(title)}</h1>{''.join(parts)}"
        f"<p>Generated {esc(str(doc['meta']['generated_at']))}.</p></body></html>\n"
    )
