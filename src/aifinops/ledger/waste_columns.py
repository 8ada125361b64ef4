"""The waste rollup of an import's events, computed in columns instead of in SQL.

The SQL rollup (`aifinops.ledger.waste_rollup.waste_upsert`) evaluates 55 aggregates,
most of them ``sum(CASE …)`` over bucket conditions, for every event, and sorts the
events by an 11-column key: on SQLite that was about a quarter of an import's writer
time (6.5 µs an event of 26). A SQLite import instead carries each batch's waste inputs
as a few compact columns (`waste_inputs`, made in the import's worker process beside
the insert parameters); the writer computes the measures vectorised and groups them with
Arrow's hash aggregation (`waste_rows`), then upserts the grouped rows with the same
conflict rule as the SQL rollup (`WASTE_VALUES_UPSERT`). The rows are identical to the
SQL rollup's (tests/ingest/test_waste_columns.py holds the two to that).

Only the events a batch really added are rolled up: the writer passes a batch's inputs
on whole when every event was new, drops them when none was, and otherwise keeps the
rows whose ``event_id`` the batch inserted (`only_events`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.ledger.schema_optimize import (
    INPUT_BUCKETS,
    INPUT_EDGES,
    OUTPUT_BUCKETS,
    OUTPUT_EDGES,
    WASTE_DIMENSIONS,
    WASTE_MEASURES,
)
from aifinops.ledger.waste_rollup import waste_conflict_update
from aifinops.pricing.bulk import Categorical

_TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)
_KEYS = ("hour", *WASTE_DIMENSIONS, "batch")
_LENGTH_STOP_VALUES = pa.array(["max_tokens", "length"], pa.string())

#: One row per event: what the waste rollup needs of it, nothing more.
INPUT_SCHEMA = pa.schema(
    [
        pa.field("hour", pa.int64(), nullable=False),  # whole hours since 1970-01-01 UTC
        pa.field("slot", pa.int8(), nullable=False),  # the hour's 5-minute slot, 0-11
        *(pa.field(d, pa.string(), nullable=False) for d in WASTE_DIMENSIONS),  # "" if none
        pa.field("batch", pa.int8(), nullable=False),
        *(pa.field(t, pa.int64(), nullable=False) for t in _TOKENS),
        pa.field("system_tokens", pa.int64()),
        pa.field("context_chunks", pa.int64()),
        pa.field("uncapped", pa.bool_(), nullable=False),  # sent without max_tokens
        pa.field("length_stop", pa.bool_(), nullable=False),  # stopped on length
        pa.field("event_id", pa.string(), nullable=False),
    ]
)

_COLUMNS = ", ".join(
    ["hour", *_KEYS[1:], "day", *WASTE_MEASURES, "cache_slots", "example_event_id"]
)
#: Adds one grouped row to ``waste_rollup`` (SQLite), as the SQL rollup's upsert does.
WASTE_VALUES_UPSERT = (
    f"INSERT INTO waste_rollup ({_COLUMNS}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS.split(', '))}) "
    f"ON CONFLICT ({', '.join(_KEYS)}) DO UPDATE SET {waste_conflict_update('sqlite')}"
)


def _strings(values: Categorical | Sequence[str | None]) -> pa.Array:
    if isinstance(values, Categorical):
        array = pa.array(list(values.categories), pa.string()).take(pa.array(values.codes))
    else:
        array = pa.array(values, pa.string())
    return pc.fill_null(array, "") if array.null_count else array


_ROW_FIELDS = (
    *WASTE_DIMENSIONS[3:],
    "system_tokens",
    "context_chunks",
    "max_tokens",
    "stop_reason",
)


def waste_inputs(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Any], event_ids: Sequence[str]
) -> pa.RecordBatch:
    """The waste inputs of flat event rows (`aifinops.usage.flat_from_record`), given
    their pricing columns (`aifinops.pricing.columns.flat_to_columns`, same order)."""
    values_of = itemgetter(*_ROW_FIELDS)
    fields = dict(zip(_ROW_FIELDS, zip(*map(values_of, rows), strict=True), strict=True))
    minutes = np.asarray(columns["ts"]).astype("datetime64[m]").astype(np.int64)
    hour = np.floor_divide(minutes, 60)
    stops = pa.array(fields["stop_reason"], pa.string())
    values: dict[str, Any] = {
        "hour": hour,
        "slot": ((minutes - hour * 60) // 5).astype(np.int8),
        "provider": _strings(columns["provider"]),
        "model": _strings(columns["model"]),
        "service_tier": _strings(columns["service_tier"]),
        **{d: _strings(fields[d]) for d in WASTE_DIMENSIONS[3:]},
        "batch": np.asarray(columns["batch"], dtype=np.int8),
        **{t: columns[t] for t in _TOKENS},
        "system_tokens": pa.array(fields["system_tokens"], pa.int64()),
        "context_chunks": pa.array(fields["context_chunks"], pa.int64()),
        "uncapped": pc.is_null(pa.array(fields["max_tokens"], pa.int64())),
        "length_stop": pc.fill_null(pc.is_in(stops, _LENGTH_STOP_VALUES), False),
        "event_id": pa.array(event_ids, pa.string()),
    }
    return pa.RecordBatch.from_arrays([values[f.name] for f in INPUT_SCHEMA], schema=INPUT_SCHEMA)


def only_events(batch: pa.RecordBatch, event_ids: Sequence[str]) -> pa.RecordBatch:
    """The rows of ``batch`` whose event is one of ``event_ids``."""
    return batch.filter(pc.is_in(batch.column("event_id"), pa.array(event_ids, pa.string())))


_EXACT = 1 << 53  # float64 holds every integer below this exactly


class _Groups:
    """The events' groups by the rollup key: ``ids[i]`` is event i's group, ``first[g]``
    the first event of group g."""

    def __init__(self, table: pa.Table) -> None:
        key = np.zeros(table.num_rows, dtype=np.int64)
        size = 1
        for name in _KEYS:
            codes, cardinality = _codes(table.column(name))
            if size * cardinality >= 1 << 62:  # renumber before the key could overflow
                _, key = np.unique(key, return_inverse=True)
                size = int(key.max()) + 1
            key = key * cardinality + codes
            size *= cardinality
        _, self.first, self.ids = np.unique(key, return_index=True, return_inverse=True)
        self.count = len(self.first)

    def sum(self, values: Any) -> Any:
        """Each group's sum of ``values`` (non-negative int64), exact."""
        if int(values.sum()) < _EXACT:
            return np.bincount(self.ids, weights=values, minlength=self.count).astype(np.int64)
        out = np.zeros(self.count, dtype=np.int64)
        np.add.at(out, self.ids, values)
        return out

    def max(self, values: Any) -> Any:
        out = np.zeros(self.count, dtype=np.int64)
        np.maximum.at(out, self.ids, values)
        return out

    def bit_or(self, values: Any) -> Any:
        out = np.zeros(self.count, dtype=np.int64)
        np.bitwise_or.at(out, self.ids, values)
        return out

    def min_text(self, values: pa.ChunkedArray) -> list[str]:
        grouped = (
            pa.table({"g": self.ids, "v": values})
            .group_by("g", use_threads=False)
            .aggregate([("v", "min")])
        )
        out = np.empty(self.count, dtype=object)
        out[grouped.column("g").to_numpy()] = grouped.column("v_min").to_numpy(zero_copy_only=False)
        return list(out)


def _codes(column: pa.ChunkedArray) -> tuple[Any, int]:
    """Integer codes of a key column, in the values' order (equal values, equal codes;
    strings by code point, as SQLite compares them), and how many codes there are."""
    if pa.types.is_string(column.type):
        encoded = pc.dictionary_encode(column).combine_chunks()
        words = encoded.dictionary.to_pylist()
        rank = np.empty(len(words), dtype=np.int64)
        rank[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
        return rank[encoded.indices.to_numpy()], max(len(words), 1)
    values = column.to_numpy()
    low = int(values.min()) if len(values) else 0
    return values.astype(np.int64) - low, (int(values.max()) - low + 1) if len(values) else 1


def _measures(table: pa.Table, groups: _Groups) -> list[Any]:
    """Each group's measures, in `WASTE_MEASURES` order, as the SQL rollup computes them."""

    def ints(name: str) -> Any:
        return table.column(name).to_numpy()

    inp, read, w5, w1, out = (ints(t) for t in _TOKENS)
    all_input = inp + read + w5 + w1
    system = table.column("system_tokens")
    system_tokens = pc.fill_null(system, 0).to_numpy()
    chunks = pc.fill_null(table.column("context_chunks"), 0).to_numpy()
    chunked = chunks > 0
    uncapped = table.column("uncapped").to_numpy() & (out > 0)
    length_stops = uncapped & table.column("length_stop").to_numpy()
    total = groups.sum
    measures: dict[str, Any] = {
        "calls": np.bincount(groups.ids, minlength=groups.count).astype(np.int64),
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
    return [measures[m].tolist() for m in WASTE_MEASURES]


def _text_of_hours(hours: list[int]) -> tuple[list[str], list[str]]:
    """The SQLite texts of whole hours since the epoch: the hour and its day."""
    texts: dict[int, tuple[str, str]] = {}
    for h in set(hours):
        iso = str(np.datetime64(h, "h"))  # YYYY-MM-DDTHH
        texts[h] = (f"{iso[:10]} {iso[11:13]}:00:00.000000", iso[:10])
    pairs = [texts[h] for h in hours]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def waste_rows(batches: Sequence[pa.RecordBatch]) -> list[tuple[Any, ...]]:
    """The grouped ``waste_rollup`` rows of the events in ``batches`` (see
    `WASTE_VALUES_UPSERT` for their columns), in key order (the upserts then walk the
    table's index in order)."""
    table = pa.Table.from_batches(batches, schema=INPUT_SCHEMA)
    if not table.num_rows:
        return []
    groups = _Groups(table)
    first = pa.array(groups.first)
    keys = [table.column(k).take(first).to_pylist() for k in _KEYS]
    hours, days = _text_of_hours(keys[0])
    slots = np.left_shift(1, table.column("slot").to_numpy().astype(np.int64))
    rows = zip(
        hours,
        *keys[1:],
        days,
        *_measures(table, groups),
        groups.bit_or(slots).tolist(),
        groups.min_text(table.column("event_id")),
        strict=True,
    )
    return list(rows)
