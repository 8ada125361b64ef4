"""An import's rollups computed in columns instead of in SQL: the per-event inputs.

The SQL rollups (`aifinops.ledger.writer`) group the new events in SQLite's sorter and
evaluate every measure per event through its virtual machine: on SQLite that was most
of an import's writer time. A SQLite import instead carries, beside each batch's insert
parameters, what the rollups need of each event as a few compact columns
(`rollup_inputs`, made in the import's worker process, where the event's fields are at
hand). The writer groups a whole span's events once with numpy (`Groups`) or Arrow and
upserts the grouped rows with the SQL rollups' own conflict rules: the hourly and daily
rollups in `aifinops.ledger.hourly_columns`, the waste rollup in
`aifinops.ledger.waste_columns`. The unit rollup stays in SQL.
The rows are identical to the SQL rollups' (tests/ingest/test_rollup_columns.py holds
the two to that).

Only the events a batch really added are rolled up: the writer keeps a batch's inputs
whole when every event was new, drops them when none was, and otherwise keeps the rows
whose ``event_id`` the batch inserted (`only_events`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.pricing.bulk import Categorical
from aifinops.usage import TOKEN_FIELDS

#: The counts of tokens by kind: input (uncached, cache reads, cache writes) and output.
TOKENS = TOKEN_FIELDS[:5]
assert TOKENS[-1] == "output_tokens"
#: String keys of the rollups; "" where the event has none (as the SQL's coalesce).
TEXT_KEYS = (
    "provider",
    "model",
    "service_tier",
    "team",
    "feature",
    "customer_id",
    "prompt_version",
    "system_hash",
    "prefix_hash",
)
_LENGTH_STOP_VALUES = pa.array(["max_tokens", "length"], pa.string())

#: One row per event: what the rollups need of it, nothing more.
INPUT_SCHEMA = pa.schema(
    [
        pa.field("hour", pa.int64(), nullable=False),  # whole hours since 1970-01-01 UTC
        pa.field("slot", pa.int8(), nullable=False),  # the hour's 5-minute slot, 0-11
        *(pa.field(d, pa.string(), nullable=False) for d in TEXT_KEYS),
        pa.field("batch", pa.int8(), nullable=False),
        *(pa.field(t, pa.int64(), nullable=False) for t in TOKENS),
        pa.field("reasoning_tokens", pa.int64(), nullable=False),
        pa.field("web_search_requests", pa.int64(), nullable=False),
        pa.field("list_cost_nusd", pa.int64()),  # null: unpriced
        pa.field("effective_cost_nusd", pa.int64()),
        pa.field("error", pa.bool_(), nullable=False),  # an error type or a status >= 400
        pa.field("system_tokens", pa.int64()),
        pa.field("context_chunks", pa.int64()),
        pa.field("uncapped", pa.bool_(), nullable=False),  # sent without max_tokens
        pa.field("length_stop", pa.bool_(), nullable=False),  # stopped on length
        pa.field("event_id", pa.string(), nullable=False),
    ]
)


def _strings(values: Categorical | Sequence[str | None]) -> pa.Array:
    if isinstance(values, Categorical):
        array = pa.array(list(values.categories), pa.string()).take(pa.array(values.codes))
    else:
        array = pa.array(values, pa.string())
    return pc.fill_null(array, "") if array.null_count else array


def rollup_inputs(
    fields: Mapping[str, Sequence[Any]], columns: Mapping[str, Any]
) -> pa.RecordBatch:
    """The rollup inputs of a batch of priced events, given their values column by
    column (``fields``: `aifinops.ledger.writer.EVENT_COLUMNS` names, as
    `aifinops.ledger.writer.transpose_rows` gives them, priced) and their pricing
    columns (`aifinops.pricing.columns.values_to_columns`), in the same order."""
    minutes = np.asarray(columns["ts"]).astype("datetime64[m]").astype(np.int64)
    hour = np.floor_divide(minutes, 60)
    status = pa.array(fields["status"], pa.int64())
    errors = pc.or_(
        pc.is_valid(pa.array(fields["error_type"], pa.string())),
        pc.greater_equal(pc.fill_null(status, 0), 400),
    )
    stops = pa.array(fields["stop_reason"], pa.string())

    def ints(name: str) -> pa.Array:
        return pa.array(fields[name], pa.int64())

    values: dict[str, Any] = {
        "hour": hour,
        "slot": ((minutes - hour * 60) // 5).astype(np.int8),
        **{d: _strings(columns[d]) for d in TEXT_KEYS[:3]},
        **{d: _strings(fields[d]) for d in TEXT_KEYS[3:]},
        "batch": np.asarray(columns["batch"], dtype=np.int8),
        **{t: columns[t] for t in (*TOKENS, "web_search_requests")},
        **{n: ints(n) for n in ("reasoning_tokens", "list_cost_nusd", "effective_cost_nusd")},
        "error": errors,
        "system_tokens": ints("system_tokens"),
        "context_chunks": ints("context_chunks"),
        "uncapped": pc.is_null(ints("max_tokens")),
        "length_stop": pc.fill_null(pc.is_in(stops, _LENGTH_STOP_VALUES), False),
        "event_id": pa.array(fields["event_id"], pa.string()),
    }
    return pa.RecordBatch.from_arrays([values[f.name] for f in INPUT_SCHEMA], schema=INPUT_SCHEMA)


def only_events(batch: pa.RecordBatch, event_ids: Sequence[str]) -> pa.RecordBatch:
    """The rows of ``batch`` whose event is one of ``event_ids``."""
    return batch.filter(pc.is_in(batch.column("event_id"), pa.array(event_ids, pa.string())))


def span_table(batches: Sequence[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(batches, schema=INPUT_SCHEMA)


_EXACT = 1 << 53  # float64 holds every integer below this exactly


def key_codes(column: pa.ChunkedArray) -> tuple[Any, int]:
    """Integer codes of a key column, in the values' order (equal values, equal codes;
    strings by code point, as SQLite compares them), and how many codes there are."""
    if pa.types.is_string(column.type):
        encoded = pc.dictionary_encode(column).combine_chunks()
        words = encoded.dictionary.to_pylist()
        rank = np.empty(len(words), dtype=np.int64)
        rank[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
        return rank[encoded.indices.to_numpy()], max(len(words), 1)
    values = column.to_numpy().astype(np.int64)
    low = int(values.min())
    return values - low, int(values.max()) - low + 1


class Groups:
    """Events grouped by key columns (codes from `key_codes`, most significant first):
    ``ids[i]`` is event i's group, ``first[g]`` the first event of group g, and groups
    are numbered in key order."""

    def __init__(self, codes: Sequence[tuple[Any, int]]) -> None:
        key = np.zeros(len(codes[0][0]), dtype=np.int64)
        size = 1
        for values, cardinality in codes:
            if size * cardinality >= 1 << 62:  # renumber before the key could overflow
                _, key = np.unique(key, return_inverse=True)
                size = int(key.max()) + 1
            key = key * cardinality + values
            size *= cardinality
        _, self.first, self.ids = np.unique(key, return_index=True, return_inverse=True)
        self.count = len(self.first)

    def calls(self) -> Any:
        return np.bincount(self.ids, minlength=self.count).astype(np.int64)

    def sum(self, values: Any) -> Any:
        """Each group's sum of int64 ``values``, exact."""
        if int(np.abs(values).sum()) < _EXACT:
            return np.bincount(self.ids, weights=values, minlength=self.count).astype(np.int64)
        out = np.zeros(self.count, dtype=np.int64)
        np.add.at(out, self.ids, values)
        return out

    def max(self, values: Any) -> Any:
        """Each group's maximum of non-negative ``values``."""
        out = np.zeros(self.count, dtype=np.int64)
        np.maximum.at(out, self.ids, values)
        return out

    def bit_or(self, values: Any) -> Any:
        out = np.zeros(self.count, dtype=np.int64)
        np.bitwise_or.at(out, self.ids, values)
        return out

    def min_text(self, values: pa.ChunkedArray) -> pa.ChunkedArray:
        """Each group's smallest string (by code point, as SQLite's ``min``)."""
        grouped = (
            pa.table({"g": self.ids, "v": values})
            .group_by("g", use_threads=False)
            .aggregate([("v", "min")])
        )
        order = np.argsort(grouped.column("g").to_numpy())
        return grouped.column("v_min").take(pa.array(order))

    def keys(self, table: pa.Table, names: Sequence[str]) -> list[pa.ChunkedArray]:
        """Each group's values of the key columns ``names``."""
        first = pa.array(self.first)
        return [table.column(n).take(first) for n in names]


def rows_of(columns: Sequence[Any], chunk: int = 8192) -> Iterator[tuple[Any, ...]]:
    """The rows of equal-length columns (numpy arrays, Arrow arrays or lists), made
    ``chunk`` at a time, so a span's many grouped rows never all exist as Python
    objects at once."""
    n = len(columns[0])
    for lo in range(0, n, chunk):
        yield from zip(*(_python(c, lo, lo + chunk) for c in columns), strict=True)


def _python(column: Any, lo: int, hi: int) -> list[Any]:
    if isinstance(column, np.ndarray):
        return column[lo:hi].tolist()  # type: ignore[no-any-return]
    if isinstance(column, pa.Array | pa.ChunkedArray):
        return column.slice(lo, hi - lo).to_pylist()  # type: ignore[no-any-return]
    return list(column[lo:hi])


def hour_texts(hours: pa.ChunkedArray) -> tuple[list[str], list[str]]:
    """The SQLite texts of whole hours since the epoch: the hour and its day."""
    values = hours.to_numpy().tolist()
    texts: dict[int, tuple[str, str]] = {}
    for h in set(values):
        iso = str(np.datetime64(h, "h"))  # YYYY-MM-DDTHH
        texts[h] = (f"{iso[:10]} {iso[11:13]}:00:00.000000", iso[:10])
    pairs = [texts[h] for h in values]
    return [p[0] for p in pairs], [p[1] for p in pairs]
