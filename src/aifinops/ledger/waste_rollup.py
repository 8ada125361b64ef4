"""The insert-time waste rollup: shape signals per hour and prompt/prefix identity.

The ledger writer adds each batch's new events to ``waste_rollup`` with one grouped
``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE``, in the same transaction as the
events (see `aifinops.ledger.writer`). What each measure counts:

- ``calls`` and the token columns: as in the hourly rollup (tokens only; no money, the
  detectors price at report time, so a reprice never leaves this table stale);
- ``system_calls`` / ``system_tokens`` / ``system_tokens_max``: calls that reported a
  system prompt size, its sum and maximum;
- ``chunk_calls`` / ``context_chunks`` / ``context_chunks_max``: calls that carried
  context chunks (``context_chunks > 0``), their chunks' sum and maximum, and
  ``chunk_input_tokens`` (all input, cached included) and ``chunk_system_tokens`` of
  those calls;
- ``uncapped_*``: calls sent without ``max_tokens`` that produced output: their count,
  output tokens, how many stopped on length (``max_tokens`` / ``length``), and a
  histogram of their output lengths (`OUTPUT_EDGES`: count and tokens per bucket), so
  the output above any bucket edge is an exact sum;
- ``input_calls_*`` / ``input_tokens_*``: every call's all-input size (uncached, cache
  reads and writes) as a histogram with `INPUT_EDGES` (count and tokens per bucket), so
  a feature's normal input and the input above any edge are exact;
- ``cache_slots``: a bit mask of the hour's 5-minute slots (bit i: minutes 5i to 5i+4)
  that had calls, OR-ed on upsert: the number of cache lifetimes with traffic, so a
  detector can count the cache writes a repeated prefix needs at least;
- ``example_event_id``: the smallest event id of the row (evidence, never content).
"""

from __future__ import annotations

from aifinops.ledger.lock_order import key_order
from aifinops.ledger.schema_optimize import (
    INPUT_BUCKETS,
    INPUT_EDGES,
    OUTPUT_BUCKETS,
    OUTPUT_EDGES,
    WASTE_DIMENSIONS,
    WASTE_MEASURES,
)

_ALL_INPUT = "(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)"
_UNCAPPED = "max_tokens IS NULL AND output_tokens > 0"
_CHUNKED = "coalesce(context_chunks, 0) > 0"
#: Measures kept as a maximum rather than a sum.
MAX_MEASURES = frozenset({"system_tokens_max", "context_chunks_max"})


def _when(condition: str, value: str = "1") -> str:
    return f"sum(CASE WHEN {condition} THEN {value} ELSE 0 END)"


def _bucket(i: int) -> str:
    lo = OUTPUT_EDGES[i - 1] if i else 0
    if i < len(OUTPUT_EDGES):
        return f"{_UNCAPPED} AND output_tokens >= {lo} AND output_tokens < {OUTPUT_EDGES[i]}"
    return f"{_UNCAPPED} AND output_tokens >= {lo}"


def _input_bucket(i: int) -> str:
    if i == 0:
        return f"{_ALL_INPUT} < {INPUT_EDGES[0]}"
    lo = INPUT_EDGES[i - 1]
    if i < len(INPUT_EDGES):
        return f"{_ALL_INPUT} >= {lo} AND {_ALL_INPUT} < {INPUT_EDGES[i]}"
    return f"{_ALL_INPUT} >= {lo}"


WASTE_MEASURE_SQL: dict[str, str] = {
    "calls": "count(*)",
    "input_tokens": "sum(input_tokens)",
    "cache_read_tokens": "sum(cache_read_tokens)",
    "cache_write_5m_tokens": "sum(cache_write_5m_tokens)",
    "cache_write_1h_tokens": "sum(cache_write_1h_tokens)",
    "output_tokens": "sum(output_tokens)",
    "system_calls": _when("system_tokens IS NOT NULL"),
    "system_tokens": "coalesce(sum(system_tokens), 0)",
    "system_tokens_max": "coalesce(max(system_tokens), 0)",
    "chunk_calls": _when(_CHUNKED),
    "context_chunks": "coalesce(sum(context_chunks), 0)",
    "context_chunks_max": "coalesce(max(context_chunks), 0)",
    "chunk_input_tokens": _when(_CHUNKED, _ALL_INPUT),
    "chunk_system_tokens": _when(_CHUNKED, "coalesce(system_tokens, 0)"),
    "uncapped_calls": _when(_UNCAPPED),
    "uncapped_output_tokens": _when(_UNCAPPED, "output_tokens"),
    "uncapped_length_stops": _when(f"{_UNCAPPED} AND stop_reason IN ('max_tokens', 'length')"),
    **{f"uncapped_out_calls_{i}": _when(_bucket(i)) for i in range(OUTPUT_BUCKETS)},
    **{
        f"uncapped_out_tokens_{i}": _when(_bucket(i), "output_tokens")
        for i in range(OUTPUT_BUCKETS)
    },
    **{f"input_calls_{i}": _when(_input_bucket(i)) for i in range(INPUT_BUCKETS)},
    **{f"input_tokens_{i}": _when(_input_bucket(i), _ALL_INPUT) for i in range(INPUT_BUCKETS)},
}
assert tuple(WASTE_MEASURE_SQL) == WASTE_MEASURES


def waste_upsert(source: str, hour_sql: str, day_sql: str, dialect: str) -> str:
    """Add the events of ``source`` (a table or subquery of ``usage_events`` rows) to
    ``waste_rollup``: one grouped upsert."""
    slot_sql = (
        "(CAST(extract(minute FROM ts) AS integer) / 5)"
        if dialect == "postgresql"
        else "(CAST(substr(ts, 15, 2) AS INTEGER) / 5)"
    )
    dims = [f"coalesce({d}, '')" for d in WASTE_DIMENSIONS]
    group = ", ".join([hour_sql, *dims, "batch"])
    measures = ", ".join(WASTE_MEASURE_SQL[m] for m in WASTE_MEASURES)
    columns = ", ".join(
        [
            "hour",
            *WASTE_DIMENSIONS,
            "batch",
            "day",
            *WASTE_MEASURES,
            "cache_slots",
            "example_event_id",
        ]
    )
    key = ", ".join(["hour", *WASTE_DIMENSIONS, "batch"])
    return (
        f"INSERT INTO waste_rollup ({columns}) "
        f"SELECT {group}, {day_sql}, {measures}, sum(DISTINCT 1 << {slot_sql}), min(event_id) "
        f"FROM {source} "
        f"GROUP BY {group}, {day_sql}"
        # in key order on PostgreSQL (aifinops.ledger.lock_order)
        f"{key_order(len(WASTE_DIMENSIONS) + 2) if dialect == 'postgresql' else ''} "
        f"ON CONFLICT ({key}) DO UPDATE SET {waste_conflict_update(dialect)}"
    )


def waste_conflict_update(dialect: str) -> str:
    """The ``DO UPDATE SET`` of a waste upsert: add a row's measures to the stored row."""
    least, greatest = ("LEAST", "GREATEST") if dialect == "postgresql" else ("min", "max")
    updates = ", ".join(
        f"{m} = {greatest}(waste_rollup.{m}, excluded.{m})"
        if m in MAX_MEASURES
        else f"{m} = waste_rollup.{m} + excluded.{m}"
        for m in WASTE_MEASURES
    )
    return (
        f"{updates}, cache_slots = waste_rollup.cache_slots | excluded.cache_slots, "
        f"example_event_id = {least}(waste_rollup.example_event_id, excluded.example_event_id)"
    )
