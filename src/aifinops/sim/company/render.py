"""Blocks of calls as canonical JSONL event lines (the UsageEvent field names, flat).

Rendering is column-wise: static fields come from per-kind JSON fragments, numbers
are turned to text once per column, and one ``%`` template joins them per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np

from aifinops.sim.company.customers import customer_ids
from aifinops.sim.company.kinds import I64, NULL, RESULTS, kind_table
from aifinops.sim.company.options import Window
from aifinops.sim.company.traffic import Block

#: Field order of an event line (documented in docs/synthetic-company.md).
EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "request_id",
    "ts",
    "duration_ms",
    "ttft_ms",
    "provider",
    "model",
    "requested_model",
    "endpoint",
    "service_tier",
    "batch",
    "team",
    "feature",
    "prompt_version",
    "api_key_id",
    "customer_id",
    "unit_id",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "max_tokens",
    "system_tokens",
    "system_hash",
    "prefix_hash",
    "context_chunks",
    "stop_reason",
    "status",
    "error_type",
)

_TEMPLATE = (
    '{"event_id":"ev_%s_%010d","request_id":"req_%s_%010d","ts":"%sZ","duration_ms":%d,'
    '"ttft_ms":%s,%s,"customer_id":"%s","unit_id":"%s-%08d","input_tokens":%d,'
    '"cache_read_tokens":%d,"cache_write_5m_tokens":%d,"cache_write_1h_tokens":%d,'
    '"output_tokens":%d,"reasoning_tokens":0,"web_search_requests":0,%s,'
    '"context_chunks":%s,%s}\n'
)
RENDER_ROWS = 20_000  # lines joined per write: bounds the text held in memory


@cache
def _fragments() -> tuple[list[str], list[str], list[str], list[str]]:
    """Per kind: attribution JSON, shape JSON, unit prefix; per result: its JSON."""
    kinds = kind_table().kinds
    return (
        [k.attribution_json() for k in kinds],
        [k.shape_json() for k in kinds],
        [k.feature.unit_prefix for k in kinds],
        [r.json() for r in RESULTS],
    )


def _nullable(values: I64) -> list[str]:
    return ["null" if v == NULL else str(v) for v in values.tolist()]


def _pick(table: list[str], codes: I64) -> list[str]:
    picked: list[str] = np.array(table, dtype=object)[codes].tolist()
    return picked


def _timestamps(ts_ms: I64) -> list[str]:
    text: list[str] = np.datetime_as_string(ts_ms.astype("datetime64[ms]"), unit="ms").tolist()
    return text


def event_lines(block: Block, window: Window) -> Iterator[str]:
    """The block's events as JSONL text, ``RENDER_ROWS`` lines at a time."""
    attribution, shape, prefix, result = _fragments()
    customers = customer_ids(window.options.customers)
    calls, tokens = block.calls, block.tokens
    key = window.key
    for lo in range(0, len(calls), RENDER_ROWS):
        hi = min(lo + RENDER_ROWS, len(calls))
        kind = calls.kind[lo:hi]
        n = hi - lo
        columns = (
            [key] * n,
            range(block.first_event + lo, block.first_event + hi),
            [key] * n,
            calls.request[lo:hi].tolist(),
            _timestamps(calls.ts_ms[lo:hi]),
            calls.duration_ms[lo:hi].tolist(),
            _nullable(calls.ttft_ms[lo:hi]),
            _pick(attribution, kind),
            _pick(customers, calls.customer[lo:hi]),
            _pick(prefix, kind),
            calls.unit[lo:hi].tolist(),
            tokens.input_tokens[lo:hi].tolist(),
            tokens.cache_read_tokens[lo:hi].tolist(),
            tokens.cache_write_5m_tokens[lo:hi].tolist(),
            tokens.cache_write_1h_tokens[lo:hi].tolist(),
            calls.output[lo:hi].tolist(),
            _pick(shape, kind),
            _nullable(calls.context_chunks[lo:hi]),
            _pick(result, calls.result[lo:hi]),
        )
        yield "".join([_TEMPLATE % row for row in zip(*columns, strict=True)])
