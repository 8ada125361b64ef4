"""Prompt caching, decided from time order: warm if the prefix was used within its TTL.

Anthropic (explicit ``cache_control``, kinds with cache ``5m``/``1h``): a cold call writes
the prefix (``cache_write_5m_tokens`` or ``cache_write_1h_tokens``), a warm one reads it.
OpenAI (``auto-24h``: automatic caching with ``prompt_cache_retention="24h"``): a warm
call reads the prefix rounded down to 128 tokens; nothing is written or billed extra.
Every use refreshes the TTL, as the providers do. Kinds with no caching (or a prefix
below the model's minimum) send the whole prompt as uncached input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aifinops.sim.company.calls import Calls
from aifinops.sim.company.kinds import I64, RESULT_FAILED, KindTable

NEVER = np.iinfo(np.int64).min // 2


@dataclass
class CacheState:
    """When each prefix (one per kind) was last used: carried from block to block."""

    last_used_ms: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tokens:
    """The canonical input split of a block's calls (aligned with its rows)."""

    input_tokens: I64
    cache_read_tokens: I64
    cache_write_5m_tokens: I64
    cache_write_1h_tokens: I64


def apply_cache(calls: Calls, t: KindTable, state: CacheState) -> Tokens:
    """Split each call's input into uncached, cache read and cache write (rows in ts order)."""
    n = len(calls)
    ok = ~RESULT_FAILED[calls.result]
    read = np.zeros(n, dtype=np.int64)
    write = np.zeros(n, dtype=np.int64)
    index = np.flatnonzero(ok & (t.cache_ttl_ms[calls.kind] > 0))
    if index.shape[0]:
        _warm_or_cold(calls, t, state, index, read, write)
    one_hour = t.cache_1h[calls.kind]
    total = np.where(ok, calls.fresh_input + t.system_tokens[calls.kind], 0)
    return Tokens(
        input_tokens=total - read - write,
        cache_read_tokens=read,
        cache_write_5m_tokens=np.where(one_hour, 0, write),
        cache_write_1h_tokens=np.where(one_hour, write, 0),
    )


def _warm_or_cold(
    calls: Calls, t: KindTable, state: CacheState, index: I64, read: I64, write: I64
) -> None:
    """Fill ``read``/``write`` at ``index`` (caching calls) and advance ``state``."""
    kind = calls.kind[index]
    order = np.argsort(kind, kind="stable")
    index, kind = index[order], kind[order]
    ts = calls.ts_ms[index]
    starts = np.ones(index.shape[0], dtype=np.bool_)
    starts[1:] = kind[1:] != kind[:-1]
    previous = np.empty_like(ts)
    previous[1:] = ts[:-1]
    previous[starts] = [state.last_used_ms.get(int(k), NEVER) for k in kind[starts]]
    warm = ts - previous <= t.cache_ttl_ms[kind]
    ends = np.flatnonzero(np.append(starts[1:], True))
    state.last_used_ms.update(zip(kind[ends].tolist(), ts[ends].tolist(), strict=True))

    cacheable = t.cacheable_tokens[kind]
    read[index] = np.where(warm, cacheable, 0)
    write[index] = np.where(~warm & t.explicit_cache[kind], cacheable, 0)
