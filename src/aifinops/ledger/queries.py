"""Spend queries: always on the hourly rollup, never a scan of raw events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import ROLLUP_MEASURES, rollup_hourly

#: `--by` names and the rollup column each groups on ("customer" is customer_id).
GROUPS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "team": "team",
    "feature": "feature",
    "customer": "customer_id",
    "customer_id": "customer_id",
    "prompt_version": "prompt_version",
    "day": "day",
}


class QueryError(ValueError):
    """A bad query parameter; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class SpendQuery:
    start: date
    end: date  # inclusive
    by: tuple[str, ...] = ()
    top: int | None = None
    filters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SpendResult:
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, int]


def parse_group_by(text: str | Sequence[str]) -> tuple[str, ...]:
    names = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in GROUPS:
            raise QueryError("by", f"unknown dimension {raw!r}; use {', '.join(sorted(GROUPS))}")
        if GROUPS[name] not in (GROUPS[o] for o in out):
            out.append(name)
    return tuple(out)


def _conditions(query: SpendQuery) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [
        rollup_hourly.c.day >= query.start,
        rollup_hourly.c.day <= query.end,
    ]
    for name, value in query.filters:
        if name not in GROUPS or name == "day":
            raise QueryError(name, "cannot filter on this dimension")
        conds.append(rollup_hourly.c[GROUPS[name]] == value)
    return and_(*conds)


def spend(conn: Connection, query: SpendQuery) -> SpendResult:
    """Sums of every rollup measure grouped by ``query.by``, largest effective cost first."""
    if query.end < query.start:
        raise QueryError("to", f"{query.end} is before from ({query.start})")
    if query.top is not None and query.top < 1:
        raise QueryError("top", "must be 1 or more")
    keys = [rollup_hourly.c[GROUPS[name]].label(name) for name in query.by]
    sums = [func.sum(rollup_hourly.c[m]).label(m) for m in ROLLUP_MEASURES]
    where = _conditions(query)
    stmt = select(*keys, *sums).where(where)
    if keys:
        stmt = stmt.group_by(*keys)
    effective = func.sum(rollup_hourly.c.effective_cost_nusd)
    order = [effective.desc(), *keys] if "day" not in query.by else [*keys]
    stmt = stmt.order_by(*order)
    if query.top is not None:
        stmt = stmt.limit(query.top)
    rows = []
    for record in conn.execute(stmt).mappings():
        row = dict(record)
        for m in ROLLUP_MEASURES:
            row[m] = int(row[m] or 0)
        rows.append(row)
    if not keys and rows and rows[0]["calls"] == 0:
        rows = []
    totals_row = conn.execute(select(*sums).where(where)).mappings().one()
    totals = {m: int(totals_row[m] or 0) for m in ROLLUP_MEASURES}
    return SpendResult(columns=query.by, rows=rows, totals=totals)
