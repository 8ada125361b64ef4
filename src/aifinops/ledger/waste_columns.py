"""The waste rollup of an import's events computed in columns (see
`aifinops.ledger.rollup_inputs`).

The SQL rollup (`aifinops.ledger.waste_rollup.waste_upsert`) evaluates 55 aggregates,
most of them ``sum(CASE …)`` over bucket conditions, for every event, and sorts the
events by an 11-column key: on SQLite that was a quarter of an import's writer time
(6.5 µs an event of 26). Here each measure is one vectorised expression and one
grouped sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.ledger.rollup_inputs import TOKENS, Groups, hour_texts, key_codes, rows_of
from aifinops.ledger.schema_optimize import (
    INPUT_BUCKETS,
    INPUT_EDGES,
    OUTPUT_BUCKETS,
    OUTPUT_EDGES,
    WASTE_DIMENSIONS,
    WASTE_MEASURES,
)
from aifinops.ledger.waste_rollup import waste_conflict_update

_KEYS = ("hour", *WASTE_DIMENSIONS, "batch")
_COLUMNS = ", ".join(
    ["hour", *_KEYS[1:], "day", *WASTE_MEASURES, "cache_slots", "example_event_id"]
)
#: Adds one grouped row to ``waste_rollup`` (SQLite), as the SQL rollup's upsert does.
WASTE_VALUES_UPSERT = (
    f"INSERT INTO waste_rollup ({_COLUMNS}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS.split(', '))}) "
    f"ON CONFLICT ({', '.join(_KEYS)}) DO UPDATE SET {waste_conflict_update('sqlite')}"
)


def _measures(table: pa.Table, groups: Groups) -> list[Any]:
    """Each group's measures, in `WASTE_MEASURES` order, as the SQL rollup computes them."""

    def ints(name: str) -> Any:
        return table.column(name).to_numpy()

    inp, read, w5, w1, out = (ints(t) for t in TOKENS)
    all_input = inp + read + w5 + w1
    system = table.column("system_tokens")
    system_tokens = pc.fill_null(system, 0).to_numpy()
    chunks = pc.fill_null(table.column("context_chunks"), 0).to_numpy()
    chunked = chunks > 0
    uncapped = table.column("uncapped").to_numpy() & (out > 0)
    length_stops = uncapped & table.column("length_stop").to_numpy()
    total = groups.sum
    measures: dict[str, Any] = {
        "calls": groups.calls(),
        "input_tokens": total(inp),
        "cache_read_tokens": total(read),
        "cache_write_5m_tokens": total(w5),
        "cache_write_1h_tokens": total(w1),
        "output_tokens": total(out),
        "system_calls": total(pc.is_valid(system).to_numpy().astype(np.int64)),
        "system_tokens": total(system_tokens),
        "system_tokens_max": groups.max(system_tokens),
        "chunk_calls": total(chunked.astype(np.int64)),
        "context_chunks": total(chunks),
        "context_chunks_max": groups.max(chunks),
        "chunk_input_tokens": total(all_input * chunked),
        "chunk_system_tokens": total(system_tokens * chunked),
        "uncapped_calls": total(uncapped.astype(np.int64)),
        "uncapped_output_tokens": total(out * uncapped),
        "uncapped_length_stops": total(length_stops.astype(np.int64)),
    }
    out_bucket = np.where(uncapped, np.searchsorted(OUTPUT_EDGES, out, side="right"), -1)
    for i in range(OUTPUT_BUCKETS):
        hit = out_bucket == i
        measures[f"uncapped_out_calls_{i}"] = total(hit.astype(np.int64))
        measures[f"uncapped_out_tokens_{i}"] = total(out * hit)
    in_bucket = np.searchsorted(INPUT_EDGES, all_input, side="right")
    for i in range(INPUT_BUCKETS):
        hit = in_bucket == i
        measures[f"input_calls_{i}"] = total(hit.astype(np.int64))
        measures[f"input_tokens_{i}"] = total(all_input * hit)
    return [measures[m] for m in WASTE_MEASURES]


def waste_rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    """The grouped ``waste_rollup`` rows of a span's events (`rollup_inputs.span_table`;
    columns of `WASTE_VALUES_UPSERT`), in key order (the upserts walk the index in
    order), made as they are consumed."""
    if not table.num_rows:
        return iter(())
    groups = Groups([key_codes(table.column(k)) for k in _KEYS])
    keys = groups.keys(table, _KEYS)
    hours, days = hour_texts(keys[0])
    slots = np.left_shift(1, table.column("slot").to_numpy().astype(np.int64))
    return rows_of(
        [
            hours,
            *keys[1:],
            days,
            *_measures(table, groups),
            groups.bit_or(slots),
            groups.min_text(table.column("event_id")),
        ]
    )
