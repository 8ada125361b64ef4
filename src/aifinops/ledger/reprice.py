"""Re-pricing: recompute effective cost after negotiated rates change; rollups follow.

List cost keeps the price in force on the call's date (the list data does not change
under a call); effective cost is recomputed with the rates in force now. Afterwards the
rollup of every hour in the range is rebuilt from the raw events, so rollups and events
agree exactly; the daily rollup of those days is rebuilt from the hourly one, and each
unit's cost in the per-unit rollup moves by its calls' change. Hours
whose raw events were pruned cannot be re-priced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, Select, and_, bindparam, delete, select, text, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from aifinops.ledger.maintenance import PRUNED_BEFORE, get_meta
from aifinops.ledger.schema import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    rollup_daily,
    rollup_hourly,
    usage_events,
)
from aifinops.ledger.schema_economics import unit_rollup
from aifinops.ledger.writer import hour_sql, rollup_select
from aifinops.pricing import PricingEngine
from aifinops.pricing.bulk import COUNT_COLUMNS, price_many
from aifinops.pricing.columns import flat_to_columns

CHUNK = 20_000
_COLUMNS = (
    "event_id",
    "ts",
    "provider",
    "model",
    "service_tier",
    "batch",
    *COUNT_COLUMNS,
    "effective_cost_nusd",
    "price_version",
    "unit_id",
)


class RepriceError(ValueError):
    """The range cannot be re-priced (e.g. its raw events were pruned)."""


@dataclass(frozen=True, slots=True)
class RepriceResult:
    events: int
    changed: int
    effective_before_nusd: int
    effective_after_nusd: int


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _rebuild_rollups(conn: Connection, start: datetime, end: datetime) -> None:
    """Replace the rollup rows of hours in [start, end) by a fresh aggregate of raw events."""
    conn.execute(
        delete(rollup_hourly).where(and_(rollup_hourly.c.hour >= start, rollup_hourly.c.hour < end))
    )
    hour, day = hour_sql(conn)
    columns = ", ".join(("hour", *ROLLUP_DIMENSIONS, "day", *ROLLUP_MEASURES))
    select_sql = rollup_select("usage_events", hour, day, "ts >= :start AND ts < :end")
    stmt = text(f"INSERT INTO rollup_hourly ({columns}) {select_sql}").bindparams(
        bindparam("start", type_=DateTime(timezone=True)),
        bindparam("end", type_=DateTime(timezone=True)),
    )
    conn.execute(stmt, {"start": start, "end": end})
    first, last = start.date(), (end - timedelta(days=1)).date()
    conn.execute(
        delete(rollup_daily).where(and_(rollup_daily.c.day >= first, rollup_daily.c.day <= last))
    )
    keys = ", ".join(("day", *ROLLUP_DIMENSIONS))
    sums = ", ".join(f"sum({m})" for m in ROLLUP_MEASURES)
    daily = text(
        f"INSERT INTO rollup_daily ({keys}, {', '.join(ROLLUP_MEASURES)}) "
        f"SELECT {keys}, {sums} FROM rollup_hourly WHERE day >= :first AND day <= :last "
        f"GROUP BY {keys}"
    ).bindparams(bindparam("first", type_=Date), bindparam("last", type_=Date))
    conn.execute(daily, {"first": first, "last": last})


def _shift_units(conn: Connection, deltas: dict[str, int]) -> None:
    """Move the per-unit rollup's effective cost by each unit's re-pricing change."""
    changes = [{"u": unit, "d": delta} for unit, delta in deltas.items() if delta]
    if changes:
        conn.execute(
            update(unit_rollup)
            .where(unit_rollup.c.unit_id == bindparam("u"))
            .values(effective_cost_nusd=unit_rollup.c.effective_cost_nusd + bindparam("d")),
            changes,
        )


def _chunks(conn: Connection, stmt: Select[Any]) -> Iterator[list[RowMapping]]:
    """Rows in chunks, each read completely before the caller updates any of them."""
    offset = 0
    while True:
        chunk = list(conn.execute(stmt.limit(CHUNK).offset(offset)).mappings())
        if not chunk:
            return
        yield chunk
        offset += len(chunk)


def reprice(engine: Engine, pricing: PricingEngine, start: date, end: date) -> RepriceResult:
    """Recompute effective cost of the calls on UTC dates ``start``..``end`` (inclusive)."""
    pruned = get_meta(engine, PRUNED_BEFORE)
    if pruned and start < date.fromisoformat(pruned):
        raise RepriceError(
            f"from: raw events before {pruned} were pruned; re-price from {pruned} on"
        )
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    total = changed = before = after = 0
    with engine.begin() as conn:
        stmt = (
            select(*(usage_events.c[c] for c in _COLUMNS))
            .where(and_(usage_events.c.ts >= lo, usage_events.c.ts < hi))
            .order_by(usage_events.c.ts, usage_events.c.event_id)
        )
        for chunk in _chunks(conn, stmt):
            rows = [dict(r, ts=_utc(r["ts"])) for r in chunk]
            priced = price_many(pricing, flat_to_columns(rows))
            updates = []
            unit_deltas: dict[str, int] = defaultdict(int)
            for i, row in enumerate(rows):
                _, effective, version = priced.row(i)
                before += row["effective_cost_nusd"] or 0
                after += effective or 0
                if (effective, version) != (row["effective_cost_nusd"], row["price_version"]):
                    updates.append({"eid": row["event_id"], "eff": effective, "ver": version})
                    if row["unit_id"]:
                        delta = (effective or 0) - (row["effective_cost_nusd"] or 0)
                        unit_deltas[row["unit_id"]] += delta
            total += len(rows)
            changed += len(updates)
            if updates:
                conn.execute(
                    update(usage_events)
                    .where(usage_events.c.event_id == bindparam("eid"))
                    .values(effective_cost_nusd=bindparam("eff"), price_version=bindparam("ver")),
                    updates,
                )
            _shift_units(conn, unit_deltas)
        _rebuild_rollups(conn, lo, hi)
    return RepriceResult(total, changed, before, after)
