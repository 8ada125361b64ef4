"""Prompt-cache state of one simulator: Anthropic breakpoints and OpenAI prefixes.

The rules themselves (minimum lengths, lookback, increments) are in
`aifinops.sim.cache_rules`; this module keeps the entries and their expiry times.
Entries are keyed by model and a hash of the prefix, so two models never share a cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aifinops.sim.cache_rules import (
    ANTHROPIC_LOOKBACK_BLOCKS,
    ANTHROPIC_TTL_SECONDS,
    OPENAI_CACHE_INCREMENT_TOKENS,
    OPENAI_MIN_CACHEABLE_TOKENS,
    anthropic_min_cacheable_tokens,
)
from aifinops.sim.tokens import BYTES_PER_TOKEN, Transcript

_Key = tuple[str, bytes]


class _Store:
    """Entries with an expiry time; expired ones are dropped when the store fills up."""

    def __init__(self, max_entries: int) -> None:
        self._expiry: dict[_Key, tuple[float, float]] = {}
        self._max = max_entries

    def live(self, key: _Key, now: float) -> bool:
        found = self._expiry.get(key)
        return found is not None and found[0] > now

    def refresh(self, key: _Key, now: float) -> None:
        _, ttl = self._expiry[key]
        self._expiry[key] = (now + ttl, ttl)

    def put(self, key: _Key, now: float, ttl: float) -> None:
        if len(self._expiry) >= self._max and key not in self._expiry:
            self._expiry = {k: v for k, v in self._expiry.items() if v[0] > now}
            if len(self._expiry) >= self._max:
                return
        current = self._expiry.get(key)
        expires = now + ttl
        if current is None or current[0] < expires:
            self._expiry[key] = (expires, ttl)

    def __len__(self) -> int:
        return len(self._expiry)


@dataclass(frozen=True, slots=True)
class AnthropicCacheUsage:
    """Input tokens of one request split the way Anthropic reports them."""

    input_tokens: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


class AnthropicPromptCache:
    """Cache entries written at ``cache_control`` breakpoints and read by later requests."""

    def __init__(self, overrides: Mapping[str, int] | None = None, max_entries: int = 200_000):
        self._store = _Store(max_entries)
        self._overrides = overrides

    def apply(self, model: str, transcript: Transcript, now: float) -> AnthropicCacheUsage:
        """Read the longest cached prefix, write the breakpoints past it, split the input.

        Position A is the longest prefix found in the cache (0 if none); B the last
        1-hour breakpoint written past A; C the last breakpoint written. The request
        reads A tokens, writes B - A at the 1-hour rate and C - B at the 5-minute rate,
        and the rest is uncached input.
        """
        total = transcript.tokens
        blocks = transcript.blocks
        marks = [i for i, block in enumerate(blocks) if block.ttl is not None]
        if not marks:
            return AnthropicCacheUsage(total, 0, 0, 0)
        candidates = sorted(
            {j for i in marks for j in range(max(0, i - ANTHROPIC_LOOKBACK_BLOCKS + 1), i + 1)}
        )
        digests = transcript.prefix_digests([blocks[j].end for j in candidates])
        hit_end = 0
        for j in reversed(candidates):
            key = (model, digests[blocks[j].end])
            if self._store.live(key, now):
                self._store.refresh(key, now)
                hit_end = blocks[j].end
                break
        minimum = anthropic_min_cacheable_tokens(model, self._overrides)
        read = hit_end // BYTES_PER_TOKEN
        b_tokens = c_tokens = read
        for i in marks:
            block = blocks[i]
            tokens = block.end // BYTES_PER_TOKEN
            if block.end <= hit_end or tokens < minimum or block.ttl is None:
                continue
            self._store.put((model, digests[block.end]), now, ANTHROPIC_TTL_SECONDS[block.ttl])
            c_tokens = tokens
            if block.ttl == "1h":
                b_tokens = tokens
        return AnthropicCacheUsage(
            input_tokens=total - c_tokens,
            cache_read=read,
            cache_write_5m=c_tokens - b_tokens,
            cache_write_1h=b_tokens - read,
        )

    def __len__(self) -> int:
        return len(self._store)


class OpenAIPrefixCache:
    """Automatic prefix caching: identical prefixes of 1,024+ tokens, in 128-token steps."""

    def __init__(self, max_entries: int = 500_000) -> None:
        self._store = _Store(max_entries)

    def apply(self, scope: str, transcript: Transcript, now: float, ttl: float) -> int:
        """Return the cached tokens of this prompt and remember its prefixes.

        At least one token of every prompt stays uncached, as on the real API.
        """
        cacheable = (transcript.size - 1) // BYTES_PER_TOKEN
        if cacheable < OPENAI_MIN_CACHEABLE_TOKENS:
            return 0
        steps = range(OPENAI_MIN_CACHEABLE_TOKENS, cacheable + 1, OPENAI_CACHE_INCREMENT_TOKENS)
        digests = transcript.prefix_digests([n * BYTES_PER_TOKEN for n in steps])
        cached = 0
        for n in reversed(steps):
            if self._store.live((scope, digests[n * BYTES_PER_TOKEN]), now):
                cached = n
                break
        for n in steps:
            self._store.put((scope, digests[n * BYTES_PER_TOKEN]), now, ttl)
        return cached

    def __len__(self) -> int:
        return len(self._store)
