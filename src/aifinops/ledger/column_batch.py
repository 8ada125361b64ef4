"""A batch of priced events written with its rollups computed in columns (SQLite).

An import's worker makes, of a batch's events given field by field
(`aifinops.ledger.writer.transpose_rows`), the insert parameters cut to the columns the
batch uses and the events' rollup inputs (`aifinops.ledger.rollup_inputs`), which the
writer groups in columns instead of in SQL. `write_rows_in_columns` does the same for
the gateway's batches in its writer child: the hourly, daily and waste rollups of a
batch cost a few grouped upserts instead of SQLite's sorter and a per-event evaluation
of every measure (docs/benchmarks.md, "The gateway's batches roll up in columns").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from aifinops.ledger.rollup_inputs import rollup_inputs
from aifinops.ledger.writer import (
    EVENT_COLUMNS,
    SpanWriter,
    WriteResult,
    narrow_values,
    transpose_rows,
    write_rows,
)
from aifinops.pricing.columns import values_to_columns

_TS = EVENT_COLUMNS.index("ts")
#: Events a gateway batch needs for its rollups to be computed in columns: grouping in
#: columns costs ≈ 3.5 ms a batch whatever its size, and saves ≈ 6 µs an event. The
#: writer child's CPU an event (bench/recorder_write.py): 314 events 16.6 µs in SQL,
#: 21.7 in columns; 600: 16.9 / 16.4; 1,300: 16.1 / 13.1; 2,600: 16.5 / 12.6.
COLUMNS_FROM = 1_000


def ts_texts(ts: Any) -> list[str]:
    """`sqlite_datetime` of naive UTC datetime64 values, vectorised."""
    return [t.replace("T", " ") for t in np.datetime_as_string(ts, unit="us").tolist()]


def narrowed_with_inputs(
    values: list[tuple[Any, ...]], columns: Mapping[str, Any]
) -> tuple[tuple[int, ...], list[tuple[Any, ...]], Any]:
    """The columns used, the rows cut to them and the rollup inputs of priced events
    given field by field (``columns``: their `values_to_columns`); ``values``' ``ts``
    becomes SQLite's text on the way."""
    values[_TS] = tuple(ts_texts(columns["ts"]))
    used, params = narrow_values(values)
    return used, params, rollup_inputs(dict(zip(EVENT_COLUMNS, values, strict=True)), columns)


def _first_of_each(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    first: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        first.setdefault(row["event_id"], row)
    return list(first.values())


def write_rows_in_columns(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> WriteResult:
    """`write_rows` (priced flat rows, ``ts`` aware; run inside a transaction), with the
    hourly, daily and waste rollups computed in columns on SQLite for a batch of
    `COLUMNS_FROM` events or more; the same ledger either way."""
    if conn.dialect.name == "postgresql" or len(rows) < COLUMNS_FROM:
        return write_rows(conn, rows)
    values = transpose_rows(_first_of_each(rows))
    columns = values_to_columns(dict(zip(EVENT_COLUMNS, values, strict=True)))
    used, params, inputs = narrowed_with_inputs(values, columns)
    span = SpanWriter(conn)
    try:
        inserted = span.write(params, used, inputs)
        span.finish()
    finally:
        span.close()
    return WriteResult(inserted=inserted, duplicates=len(rows) - inserted)
