"""Expand units into model calls: kinds, token shapes, latency, timestamps, failed attempts.

Everything is vectorised per feature and block. Cache reads and writes are not decided
here: they depend on the time since the prefix was last used, across features' calls
in time order, so `cache.apply_cache` sets them after the block is sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aifinops.sim.company.kinds import (
    F64,
    I64,
    LENGTH,
    NATURAL,
    NO_STOP,
    NULL,
    PROVIDERS,
    RESULT_BASE,
    RESULTS,
    KindTable,
)
from aifinops.sim.company.spec import ERROR_RATE, FEATURES, RUNAWAY_RANGE
from aifinops.sim.company.units import Units

OUTPUT_CAP_SHARE = 0.95  # with max_tokens set, a call stops naturally below 95 % of it
MARGIN_MS = 2_000  # a unit's calls end this long before its block does
ERROR_MS = (100.0, 1_500.0)
BACKOFF_MS = (200.0, 1_500.0)


@dataclass(frozen=True)
class Calls:
    """Columns, one row per call (failed attempts included). ``NULL`` (-1) is JSON null."""

    kind: I64
    feature: I64
    customer: I64
    unit: I64
    request: I64  # a failed attempt and its retry share the request
    step: I64
    attempt: I64  # 0: a failed attempt, 1: the call that succeeded
    ts_ms: I64
    duration_ms: I64
    ttft_ms: I64
    fresh_input: I64  # uncached-by-nature input: the variable prompt and its chunks
    context_chunks: I64
    output: I64
    result: I64  # index into kinds.RESULTS

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def take(self, index: I64) -> Calls:
        return Calls(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})

    @staticmethod
    def concat(parts: list[Calls]) -> Calls:
        return Calls(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in Calls.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class Expanded:
    calls: Calls
    unit_end_ms: I64  # per unit: when its last call ended


def _lognormal(rng: np.random.Generator, median: F64, sigma: F64) -> F64:
    drawn: F64 = rng.lognormal(np.log(np.maximum(median, 1.0)), sigma)
    return drawn


def _outputs(
    rng: np.random.Generator, t: KindTable, kind: I64
) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Output tokens and whether each call hit its model's own cap (no max_tokens)."""
    median = t.output_median[kind]
    out = np.rint(_lognormal(rng, median, t.output_sigma[kind])).astype(np.int64)
    max_tokens = t.max_tokens[kind]
    cap = np.where(
        max_tokens > 0, (max_tokens * OUTPUT_CAP_SHARE).astype(np.int64), t.max_output[kind]
    )
    over = out > cap  # redrawn below the cap: a natural stop, no pile-up at the limit
    out[over] = rng.uniform(np.minimum(median, cap)[over], cap[over]).astype(np.int64)
    out = np.maximum(out, 1)
    runaway = rng.random(kind.shape[0]) < t.runaway[kind]
    lo, hi = np.log(RUNAWAY_RANGE[0]), np.log(RUNAWAY_RANGE[1])
    long = np.exp(rng.uniform(lo, hi, kind.shape[0])).astype(np.int64)
    out = np.where(runaway, np.minimum(long, t.max_output[kind]), out)
    out = np.where(median > 0, out, 0)
    return out, runaway & (out >= t.max_output[kind])


def _latency(
    rng: np.random.Generator, t: KindTable, kind: I64, total_input: I64, output: I64
) -> tuple[I64, I64]:
    n = kind.shape[0]
    ttft_median = t.ttft_ms[kind]
    generates = ttft_median > 0
    ttft = ttft_median * (1.0 + total_input / 40_000) * rng.lognormal(0.0, 0.3, n)
    tps = np.where(generates, t.tokens_per_s[kind], 1.0)
    gen = output / tps * 1000.0 * rng.lognormal(0.0, 0.15, n)
    embed = (40.0 + total_input * 0.05) * rng.lognormal(0.0, 0.3, n)
    duration = np.where(generates, ttft + gen, embed)
    return (
        np.rint(np.maximum(duration, 1.0)).astype(np.int64),
        np.where(generates, np.rint(ttft).astype(np.int64), NULL),
    )


def expand(
    rng: np.random.Generator,
    t: KindTable,
    units: Units,
    *,
    block_start_ms: int,
    block_end_ms: int,
    first_request: int,
) -> Expanded:
    """The calls of ``units``; unit starts move earlier where needed to end in the block."""
    feature = FEATURES[units.feature]
    n_calls = units.n_calls
    rep = np.repeat(np.arange(len(units)), n_calls)
    first = np.cumsum(n_calls) - n_calls
    step = np.arange(rep.shape[0], dtype=np.int64) - first[rep]
    kind = t.base[(units.feature, units.version)] + step % len(feature.steps)
    n = kind.shape[0]

    chunks_lo, chunks_hi = t.chunks_lo[kind], t.chunks_hi[kind]
    has_chunks = chunks_lo >= 0
    chunks = np.where(
        has_chunks, rng.integers(np.maximum(chunks_lo, 0), np.maximum(chunks_hi, 0) + 1), NULL
    )
    fresh = np.maximum(np.rint(_lognormal(rng, t.input_median[kind], t.input_sigma[kind])), 1)
    fresh = fresh.astype(np.int64) + np.maximum(chunks, 0) * t.chunk_tokens[kind]
    output, hit_cap = _outputs(rng, t, kind)
    duration, ttft = _latency(rng, t, kind, fresh + t.system_tokens[kind], output)

    gap_lo, gap_hi = feature.gap_s
    step_ms = duration + np.rint(rng.uniform(gap_lo, gap_hi, n) * 1000).astype(np.int64)
    before = np.cumsum(step_ms) - step_ms
    offset = before - before[first][rep]
    last = first + n_calls - 1
    span = offset[last] + duration[last]
    latest = block_end_ms - MARGIN_MS - span
    start = np.maximum(np.minimum(units.start_ms, latest), block_start_ms)
    ts = start[rep] + offset

    provider = t.provider_code[kind]
    result = RESULT_BASE[provider] + np.where(
        output == 0, NO_STOP, np.where(hit_cap, LENGTH, NATURAL)
    )
    calls = Calls(
        kind=kind,
        feature=np.full(n, units.feature, dtype=np.int64),
        customer=units.customer[rep],
        unit=units.serial[rep],
        request=np.arange(first_request, first_request + n, dtype=np.int64),
        step=step,
        attempt=np.ones(n, dtype=np.int64),
        ts_ms=ts,
        duration_ms=duration,
        ttft_ms=ttft,
        fresh_input=fresh,
        context_chunks=chunks,
        output=output,
        result=result,
    )
    return Expanded(calls=calls, unit_end_ms=start + span)


def _error_results(rng: np.random.Generator, provider: I64) -> I64:
    codes = np.empty(provider.shape[0], dtype=np.int64)
    for p, name in enumerate(PROVIDERS):
        mask = provider == p
        base = int(RESULT_BASE[p]) + NO_STOP + 1
        options = [r for r in RESULTS[base:] if r.provider == name and r.status != 200]
        shares = np.array([r.share for r in options])
        codes[mask] = base + rng.choice(len(options), size=int(mask.sum()), p=shares / shares.sum())
    return codes


def failed_attempts(
    rng: np.random.Generator, t: KindTable, calls: Calls, block_start_ms: int
) -> Calls:
    """A failed attempt (429/500/529, nothing billed) before a small share of the calls."""
    provider = t.provider_code[calls.kind]
    rate = np.array([ERROR_RATE[p] for p in PROVIDERS])[provider]
    index = np.flatnonzero(rng.random(len(calls)) < rate)
    failed = calls.take(index)
    m = index.shape[0]
    duration = np.rint(rng.uniform(*ERROR_MS, m)).astype(np.int64)
    backoff = np.rint(rng.uniform(*BACKOFF_MS, m)).astype(np.int64)
    zeros = np.zeros(m, dtype=np.int64)
    return Calls(
        kind=failed.kind,
        feature=failed.feature,
        customer=failed.customer,
        unit=failed.unit,
        request=failed.request,
        step=failed.step,
        attempt=zeros,
        ts_ms=np.maximum(failed.ts_ms - backoff - duration, block_start_ms),
        duration_ms=duration,
        ttft_ms=np.full(m, NULL, dtype=np.int64),
        fresh_input=zeros,
        context_chunks=failed.context_chunks,
        output=zeros,
        result=_error_results(rng, provider[index]),
    )
