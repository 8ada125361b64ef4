"""Where a budget stands at a moment: its period, spend so far, state, projection, drivers.

`budget_status` answers one budget at time ``at`` (default now) and is what
``aifinops budget status``, ``GET /api/v1/budgets/status``, the alerts and the dashboard
show. Its row is flat (one JSON object of scalars, as every report row):

- the period ``[period_start, period_end)`` of the budget containing ``at``, in UTC
  (``resets_at`` = ``period_end``: the moment spend starts again from zero);
- ``spend_usd``: the scope's spend from the period start up to and including ``at``, in
  the budget's cost basis (effective or list). Whole hours come from the hourly rollup,
  the hour that contains ``at`` from raw events (so a past ``at`` is exact to the
  second, and never counts calls made after it);
- ``state``: ``ok``, ``threshold`` (``crossed_threshold_pct`` is the highest soft
  threshold reached) or ``over_hard_limit`` (the budget's ``action`` applies); a level
  counts as reached when spend is at or above it, the rule the gateway's counters use;
- ``projected_usd``: a linear projection to the period end, spend so far ÷ elapsed time
  × period length (elapsed time measured to the second from the period start). It says
  where the period ends if the pace so far holds; early in a period it rests on little
  data (``elapsed_pct`` says how much), and at the very first second it equals spend;
- ``top_feature_1`` … ``top_feature_3`` and their ``…_usd``: the features that spent
  most within the budget's scope and period so far (``None`` with an amount: calls with
  no feature; both ``None``: fewer features than three).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, union_all
from sqlalchemy.engine import Connection

from aifinops.governance.budgets import SCOPE_COLUMNS, Budget
from aifinops.governance.periods import period_bounds, tz_name
from aifinops.ledger.schema import rollup_hourly, usage_events
from aifinops.money import nusd_to_usd

TOP_FEATURES = 3
STATES = ("ok", "threshold", "over_hard_limit")


def utc_text(value: datetime) -> str:
    """``2026-10-31T19:00:00Z`` (ISO-8601 UTC to the second, or microsecond when set)."""
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def parse_at(text: str | None) -> datetime:
    """An ISO-8601 time (``2026-10-31T23:59:59Z``, ``…+05:00``; no offset means UTC) or
    ``now`` / None → an aware UTC datetime. A bad one raises `ValueError` saying so."""
    if text is None or text.strip().lower() in ("", "now"):
        return datetime.now(UTC)
    value = text.strip()
    try:
        at = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 time; use e.g. 2026-10-31T23:59:59Z or now"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _conds(table: Any, budget: Budget) -> list[ColumnElement[bool]]:
    column = SCOPE_COLUMNS[budget.scope]
    return [] if column is None else [table.c[column] == budget.name]


def _window(budget: Budget, start: datetime, at: datetime) -> Any:
    """(feature, cost) rows of the scope in [start, at]: whole hours from the rollup,
    the hour holding ``at`` (and every hour, for key budgets) from raw events."""
    cost = "effective_cost_nusd" if budget.cost == "effective" else "list_cost_nusd"
    cut = at.replace(minute=0, second=0, microsecond=0)
    if budget.scope == "key":  # the rollup has no key dimension
        cut = start
    raw = select(
        func.coalesce(usage_events.c.feature, "").label("feature"),
        usage_events.c[cost].label("cost"),
    ).where(and_(usage_events.c.ts >= cut, usage_events.c.ts <= at, *_conds(usage_events, budget)))
    if cut <= start:
        return raw.subquery()
    hourly = select(
        rollup_hourly.c.feature.label("feature"),
        rollup_hourly.c[cost].label("cost"),
    ).where(
        and_(
            rollup_hourly.c.hour >= start,
            rollup_hourly.c.hour < cut,
            *_conds(rollup_hourly, budget),
        )
    )
    return union_all(hourly, raw).subquery()


def _spend_and_top(
    conn: Connection, budget: Budget, start: datetime, at: datetime
) -> tuple[int, list[tuple[str | None, int]]]:
    window = _window(budget, start, at)
    spent = conn.execute(select(func.coalesce(func.sum(window.c.cost), 0))).scalar()
    total = func.sum(window.c.cost)
    top = conn.execute(
        select(window.c.feature, total.label("total"))
        .group_by(window.c.feature)
        .having(total > 0)
        .order_by(total.desc(), window.c.feature)
        .limit(TOP_FEATURES)
    )
    return int(spent or 0), [(row.feature or None, int(row.total)) for row in top]


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def _state(budget: Budget, spent: int) -> tuple[str, int | None, str]:
    """(state, highest threshold reached, text)."""
    crossed = [t for t in budget.thresholds if spent >= budget.threshold_nusd(t)]
    highest = crossed[-1] if crossed else None
    if spent >= budget.hard_limit_nusd:
        return "over_hard_limit", highest, f"over hard limit → {budget.action}"
    if highest is not None:
        return "threshold", highest, f"threshold {highest}% crossed"
    return "ok", None, "ok"


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def budget_status(conn: Connection, budget: Budget, at: datetime | None = None) -> dict[str, Any]:
    """Where ``budget`` stands at ``at`` (aware; default now): see the module's doc."""
    at = datetime.now(UTC) if at is None else at.astimezone(UTC)
    start, end = period_bounds(budget.period, budget.tz_hours, at)
    spent, top = _spend_and_top(conn, budget, start, at)
    length, elapsed = _micros(end - start), _micros(at - start)
    projected = spent * length // elapsed if elapsed > 0 else spent
    state, crossed, text = _state(budget, spent)
    upcoming = [t for t in budget.thresholds if crossed is None or t > crossed]
    row: dict[str, Any] = {
        "budget_id": budget.id,
        "scope": budget.scope,
        "name": budget.name,
        "period": budget.period,
        "timezone": tz_name(budget.tz_hours),
        "cost": budget.cost,
        "at": utc_text(at),
        "period_start": utc_text(start),
        "period_end": utc_text(end),
        "resets_at": utc_text(end),
        "elapsed_pct": _pct(elapsed, length),
        "spend_usd": nusd_to_usd(spent),
        "amount_usd": nusd_to_usd(budget.amount_nusd),
        "spend_pct": _pct(spent, budget.amount_nusd),
        "hard_limit_pct": budget.hard_limit_pct,
        "hard_limit_usd": nusd_to_usd(budget.hard_limit_nusd),
        "action": budget.action,
        "state": state,
        "crossed_threshold_pct": crossed,
        "next_threshold_pct": upcoming[0] if upcoming else None,
        "state_text": text,
        "projected_usd": nusd_to_usd(projected),
        "projected_pct": _pct(projected, budget.amount_nusd),
    }
    for i in range(TOP_FEATURES):
        feature, amount = top[i] if i < len(top) else (None, None)
        row[f"top_feature_{i + 1}"] = feature
        row[f"top_feature_{i + 1}_usd"] = nusd_to_usd(amount)
    row["source"] = budget.source
    return row


def budgets_status(
    conn: Connection, budgets: Iterable[Budget], at: datetime | None = None
) -> list[dict[str, Any]]:
    """`budget_status` of each budget, all at the same moment."""
    moment = datetime.now(UTC) if at is None else at
    return [budget_status(conn, b, moment) for b in budgets]


def status_document(rows: Sequence[dict[str, Any]], at: datetime) -> dict[str, Any]:
    """``{"rows", "totals", "meta"}`` as ``budget status --format json`` and the API give it."""
    totals: dict[str, int] = {"budgets": len(rows)}
    for state in STATES:
        totals[state] = sum(1 for r in rows if r["state"] == state)
    return {"rows": list(rows), "totals": totals, "meta": {"at": utc_text(at)}}


def top_features(row: dict[str, Any]) -> list[tuple[str | None, str]]:
    """The (feature, spend_usd) pairs of a status row, largest first (None: untagged)."""
    out = []
    for i in range(1, TOP_FEATURES + 1):
        amount = row.get(f"top_feature_{i}_usd")
        if amount is not None:
            out.append((row.get(f"top_feature_{i}"), amount))
    return out
