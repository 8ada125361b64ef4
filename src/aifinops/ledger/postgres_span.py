"""PostgreSQL import spans: a span's batches share one transaction, rolled up once.

Each batch is copied into a staging table and its new events (``INSERT … ON CONFLICT
(event_id) DO NOTHING RETURNING``) go into ``usage_events`` and, in the same statement,
into a temporary table of the span's new events. At the span's end the rollups are
computed once over that table, with the SQL of the per-batch write
(`aifinops.ledger.writer`): the events grouped by hour once into a temporary table,
the hourly rollup adding its rows, the daily one their sums by day, the unit and waste
rollups reading the span's events.

Per batch, a PostgreSQL upsert of a rollup row cost as much as 15-25 µs (a new row
version and its index entries), and a 5,000-event batch of a month-wide file grouped
to nearly as many rows as it had events; a span of 250,000 groups many more events per
row, so far fewer rows are upserted (docs/benchmarks.md, "PostgreSQL imports in spans").

Only the events a batch really inserted reach the span's table, so a replayed file or a
batch of partly recorded events adds nothing twice. The temporary tables empty at
commit and rollback (``ON COMMIT DELETE ROWS``).
"""

from __future__ import annotations

from typing import Any

from aifinops.ledger.lock_order import ROLLUP_KEY_WIDTH, key_order
from aifinops.ledger.schema import ROLLUP_DIMENSIONS, ROLLUP_MEASURES
from aifinops.ledger.waste_rollup import waste_upsert
from aifinops.ledger.writer import (
    EVENT_COLUMNS,
    copy_rows,
    rollup_select,
    rollup_upsert,
    staging_table,
    unit_upsert,
)

SPAN_EVENTS = "aifinops_span_events"
_HOUR_DELTA = "aifinops_span_hours"
_HOUR, _DAY = "date_trunc('hour', ts)", "CAST(ts AS DATE)"
_COLUMNS = ", ".join(EVENT_COLUMNS)
_DELTA_COLUMNS = ", ".join(("hour", *ROLLUP_DIMENSIONS, "day", *ROLLUP_MEASURES))
_KEY_ORDER = key_order(ROLLUP_KEY_WIDTH)


def begin_span(cursor: Any) -> None:
    """Create the span's temporary tables (once per connection)."""
    staging_table(cursor)
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {SPAN_EVENTS} "
        "(LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_HOUR_DELTA} "
        "(LIKE rollup_hourly INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )


def insert_batch(cursor: Any, params: list[tuple[Any, ...]]) -> int:
    """Insert a batch's events not recorded yet and keep them for the span's rollups;
    returns how many were new."""
    staging = copy_rows(cursor, params)
    cursor.execute(
        f"WITH new AS (INSERT INTO usage_events ({_COLUMNS}) SELECT {_COLUMNS} FROM {staging} "
        f"ON CONFLICT (event_id) DO NOTHING RETURNING {_COLUMNS}) "
        f"INSERT INTO {SPAN_EVENTS} ({_COLUMNS}) SELECT {_COLUMNS} FROM new"
    )
    inserted = int(cursor.rowcount)
    cursor.execute(f"TRUNCATE {staging}")
    return inserted


def roll_up_span(cursor: Any) -> None:
    """Add the span's new events to the hourly, daily, unit and waste rollups."""
    dims = ", ".join(ROLLUP_DIMENSIONS)
    sums = ", ".join(f"sum({m})" for m in ROLLUP_MEASURES)
    for statement in (
        f"INSERT INTO {_HOUR_DELTA} ({_DELTA_COLUMNS}) {rollup_select(SPAN_EVENTS, _HOUR, _DAY)}",
        # each upsert in key order: no deadlock with another writer (lock_order)
        rollup_upsert(f"SELECT {_DELTA_COLUMNS} FROM {_HOUR_DELTA}{_KEY_ORDER}"),
        rollup_upsert(
            f"SELECT day, {dims}, {sums} FROM {_HOUR_DELTA} GROUP BY day, {dims}{_KEY_ORDER}",
            "rollup_daily",
        ),
        unit_upsert(SPAN_EVENTS, _DAY, "postgresql"),
        waste_upsert(SPAN_EVENTS, _HOUR, _DAY, "postgresql"),
        f"TRUNCATE {SPAN_EVENTS}, {_HOUR_DELTA}",
    ):
        cursor.execute(statement)
