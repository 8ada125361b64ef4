"""The state of one simulator app (caches, counters, ids) and of one request.

Everything mutable lives here, on the app instance: two apps never share a cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from aifinops.pricing.catalog import Catalog
from aifinops.sim.cache import AnthropicPromptCache, OpenAIPrefixCache
from aifinops.sim.config import SimConfig
from aifinops.sim.faults import FaultState
from aifinops.sim.ids import IdFactory
from aifinops.sim.models import ModelDirectory
from aifinops.sim.ratelimit import RateLimiter


class ConversationStore:
    """Stored Responses conversations for ``previous_response_id`` (bounded, oldest out)."""

    def __init__(self, max_entries: int = 10_000, max_chars: int = 64 * 1024 * 1024) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._max_entries = max_entries
        self._max_chars = max_chars

    def get(self, response_id: str) -> str | None:
        return self._items.get(response_id)

    def put(self, response_id: str, conversation: str) -> None:
        self._items[response_id] = conversation
        self._chars += len(conversation)
        while self._items and (
            len(self._items) > self._max_entries or self._chars > self._max_chars
        ):
            _, dropped = self._items.popitem(last=False)
            self._chars -= len(dropped)


class SimState:
    """All mutable state of one simulator app."""

    def __init__(self, config: SimConfig, catalog: Catalog) -> None:
        self.config = config
        self.clock = config.clock
        self.models = ModelDirectory(catalog)
        self.ids = IdFactory(config.seed)
        self.anthropic_cache = AnthropicPromptCache(config.min_cacheable_tokens)
        self.openai_cache = OpenAIPrefixCache()
        self.faults = FaultState(config.faults)
        self.limits = RateLimiter(config.rate_limits)
        self.conversations = ConversationStore()


@dataclass(frozen=True, slots=True)
class Context:
    """What a route handler needs besides the request body."""

    state: SimState
    now: float
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
