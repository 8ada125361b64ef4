"""Spend queries: always on the hourly rollup, never a scan of raw events.

Every read can take a `Scope` (who is asking: a team, a customer, or everyone). The scope
is turned into SQL conditions here, in the query layer, so a caller that holds a scope
cannot ask for rows outside it with any filter or grouping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, or_, select, true
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import ROLLUP_MEASURES, rollup_daily, rollup_hourly

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
    "hour": "hour",
}

#: Groupings that are times: rows come out in time order, and they cannot be filters.
TIME_GROUPS: frozenset[str] = frozenset({"day", "hour"})


class QueryError(ValueError):
    """A bad query parameter; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a reader may see: everything, one team, or one customer's statement.

    `where` gives the conditions for any table; a table without the scoped column
    yields no rows for that scope (it can never widen what the scope sees).
    """

    team: str | None = None
    customer_id: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.team is None and self.customer_id is None

    def where(self, table: Table) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        for column, value in (("team", self.team), ("customer_id", self.customer_id)):
            if value is None:
                continue
            if column not in table.c:
                return [false()]
            conds.append(table.c[column] == value)
        return conds


#: No restriction (the CLI, admin and finance).
EVERYTHING = Scope()


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


def _rollup(query: SpendQuery) -> Table:
    """The daily rollup unless the query groups by hour (the hourly one)."""
    return rollup_hourly if "hour" in query.by else rollup_daily


def _conditions(query: SpendQuery, scope: Scope) -> ColumnElement[bool]:
    table = _rollup(query)
    conds: list[ColumnElement[bool]] = [
        table.c.day >= query.start,
        table.c.day <= query.end,
        *scope.where(table),
    ]
    for name, value in query.filters:
        if name not in GROUPS or name in TIME_GROUPS:
            raise QueryError(name, "cannot filter on this dimension")
        conds.append(table.c[GROUPS[name]] == value)
    return and_(*conds)


def _hour_text(value: object) -> str:
    """An hour of the rollup as ISO-8601 UTC text (``2026-11-01T13:00:00Z``)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    return str(value)[:19].replace(" ", "T") + "Z"


def spend(conn: Connection, query: SpendQuery, scope: Scope = EVERYTHING) -> SpendResult:
    """Sums of every rollup measure grouped by ``query.by``, largest effective cost first.

    Time groupings (day, hour) come out in time order. ``scope`` restricts every row and
    the totals to what its holder may see.
    """
    if query.end < query.start:
        raise QueryError("to", f"{query.end} is before from ({query.start})")
    if query.top is not None and query.top < 1:
        raise QueryError("top", "must be 1 or more")
    table = _rollup(query)
    keys = [table.c[GROUPS[name]].label(name) for name in query.by]
    sums = [func.sum(table.c[m]).label(m) for m in ROLLUP_MEASURES]
    where = _conditions(query, scope)
    stmt = select(*keys, *sums).where(where)
    if keys:
        stmt = stmt.group_by(*keys)
    effective = func.sum(table.c.effective_cost_nusd)
    timed = TIME_GROUPS.intersection(query.by)
    order = [effective.desc(), *keys] if not timed else [*keys]
    stmt = stmt.order_by(*order)
    if query.top is not None:
        stmt = stmt.limit(query.top)
    rows = []
    for record in conn.execute(stmt).mappings():
        row = dict(record)
        for m in ROLLUP_MEASURES:
            row[m] = int(row[m] or 0)
        if "hour" in row:
            row["hour"] = _hour_text(row["hour"])
        rows.append(row)
    if query.top is None:  # every group is here: the totals are their sums (one scan less)
        totals = {m: sum(row[m] for row in rows) for m in ROLLUP_MEASURES}
    else:
        totals_row = conn.execute(select(*sums).where(where)).mappings().one()
        totals = {m: int(totals_row[m] or 0) for m in ROLLUP_MEASURES}
    if not keys and rows and rows[0]["calls"] == 0:
        rows = []
    return SpendResult(columns=query.by, rows=rows, totals=totals)


#: Largest page any listing returns.
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A page of a time-ordered table, newest first, after a keyset cursor.

    ``start``/``end`` are inclusive UTC dates (either may be open); ``after`` is the
    (timestamp, id) of the last row of the previous page.
    """

    start: date | None = None
    end: date | None = None
    filters: tuple[tuple[str, str], ...] = ()
    limit: int = 100
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    next_after: tuple[datetime, str] | None


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def page(
    conn: Connection,
    table: Table,
    id_column: str,
    query: PageQuery,
    scope: Scope = EVERYTHING,
    *,
    columns: Sequence[str] | None = None,
) -> Page:
    """Rows of ``table`` (which has a ``ts`` column), newest first, bounded, within ``scope``.

    ``query.filters`` are (column, value) pairs of ``table``; an unknown column is a
    `QueryError` naming it.
    """
    if not 1 <= query.limit <= MAX_PAGE:
        raise QueryError("limit", f"must be between 1 and {MAX_PAGE}")
    if query.start is not None and query.end is not None and query.end < query.start:
        raise QueryError("to", f"{query.end} is before from ({query.start})")
    ts, ident = table.c.ts, table.c[id_column]
    conds: list[ColumnElement[bool]] = list(scope.where(table))
    if query.start is not None:
        conds.append(ts >= _utc_midnight(query.start))
    if query.end is not None:
        conds.append(ts < _utc_midnight(query.end + timedelta(days=1)))
    for name, value in query.filters:
        if name not in table.c:
            raise QueryError(name, "cannot filter on this field")
        conds.append(table.c[name] == value)
    if query.after is not None:
        at, last_id = query.after
        conds.append(or_(ts < at, and_(ts == at, ident < last_id)))
    picked = [table.c[name] for name in columns] if columns is not None else list(table.c)
    stmt = (
        select(*picked, ts.label("_ts"), ident.label("_id"))
        .where(and_(true(), *conds))
        .order_by(ts.desc(), ident.desc())
        .limit(query.limit + 1)
    )
    records = [dict(r) for r in conn.execute(stmt).mappings()]
    more = len(records) > query.limit
    records = records[: query.limit]
    next_after = None
    if more and records:
        last = records[-1]
        at = last["_ts"]
        next_after = (at if at.tzinfo else at.replace(tzinfo=UTC), str(last["_id"]))
    for record in records:
        del record["_ts"], record["_id"]
    return Page(rows=records, next_after=next_after)
