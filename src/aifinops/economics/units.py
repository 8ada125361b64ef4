"""The per-unit view: each unit of work's calls and cost beside its outcome(s).

Reads ``unit_rollup`` (kept at insert time of the calls) for a bounded page, newest
first, in the reader's scope; the outcomes of the page's units are joined whenever they
arrived — before the calls, with them or a month later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.engine import Connection

from aifinops.ledger.queries import MAX_PAGE, QueryError, Scope
from aifinops.ledger.schema_economics import outcomes, unit_rollup
from aifinops.money import nusd_to_usd

FILTERS = {
    "feature": "feature",
    "team": "team",
    "customer": "customer_id",
    "prompt_version": "prompt_version",
}


@dataclass(frozen=True, slots=True)
class UnitsQuery:
    start: date | None = None
    end: date | None = None
    filters: tuple[tuple[str, str], ...] = ()
    open_only: bool = False
    limit: int = 100
    after: tuple[datetime, str] | None = None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _utc(value).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def units_page(
    conn: Connection, query: UnitsQuery, scope: Scope
) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
    """(rows, keyset of the next page or None)."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise QueryError("limit", f"must be between 1 and {MAX_PAGE}")
    table = unit_rollup
    conds: list[ColumnElement[bool]] = list(scope.where(table))
    if query.start is not None:
        conds.append(table.c.first_day >= query.start)
    if query.end is not None:
        conds.append(table.c.first_day < query.end + timedelta(days=1))
    for name, value in query.filters:
        if name not in FILTERS:
            raise QueryError(name, "cannot filter on this")
        conds.append(table.c[FILTERS[name]] == value)
    if query.open_only:
        conds.append(table.c.outcomes == 0)
    if query.after is not None:
        at, unit = query.after
        conds.append(
            or_(table.c.first_ts < at, and_(table.c.first_ts == at, table.c.unit_id < unit))
        )
    stmt = (
        select(table)
        .where(and_(true(), *conds))
        .order_by(table.c.first_ts.desc(), table.c.unit_id.desc())
        .limit(query.limit + 1)
    )
    found = [dict(r) for r in conn.execute(stmt).mappings()]
    more = len(found) > query.limit
    found = found[: query.limit]
    joined: dict[str, list[dict[str, Any]]] = {}
    if found:
        ids = [r["unit_id"] for r in found]
        stmt_o = (
            select(
                outcomes.c.unit_id,
                outcomes.c.outcome_id,
                outcomes.c.success,
                outcomes.c.type,
                outcomes.c.ts,
            )
            .where(outcomes.c.unit_id.in_(ids))
            .order_by(outcomes.c.ts)
        )
        for o in conn.execute(stmt_o).mappings():
            joined.setdefault(o["unit_id"], []).append(
                {
                    "outcome_id": o["outcome_id"],
                    "success": bool(o["success"]),
                    "type": o["type"],
                    "ts": _iso(o["ts"]),
                }
            )
    rows = []
    for r in found:
        rows.append(
            {
                "unit_id": r["unit_id"],
                "feature": r["feature"] or None,
                "team": r["team"] or None,
                "customer_id": r["customer_id"] or None,
                "prompt_version": r["prompt_version"] or None,
                "first_call_at": _iso(r["first_ts"]),
                "last_call_at": _iso(r["last_ts"]),
                "calls": int(r["calls"]),
                "errors": int(r["errors"]),
                "list_cost_usd": nusd_to_usd(int(r["list_cost_nusd"])),
                "effective_cost_usd": nusd_to_usd(int(r["effective_cost_nusd"])),
                "outcomes": joined.get(r["unit_id"], []),
            }
        )
    next_after = None
    if more and found:
        next_after = (_utc(found[-1]["first_ts"]), str(found[-1]["unit_id"]))
    return rows, next_after
