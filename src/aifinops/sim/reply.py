"""What a route handler hands back: a JSON body or a list of SSE events, plus its usage.

Handlers are pure (request in, reply out); the server applies latency, faults and
headers when it sends the reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Charge:
    """Token counts of one call, for rate-limit headers and latency."""

    input_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event, encoded, and the output tokens it carries (for pacing)."""

    data: bytes
    tokens: int = 0


@dataclass(slots=True)
class Reply:
    """A handler's answer. ``tail`` is the index of the first event after the content
    (the finish and usage events a truncated stream never delivers)."""

    charge: Charge
    body: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    tail: int = 0

    @property
    def streaming(self) -> bool:
        return self.body is None


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def data_event(data: Any, tokens: int = 0) -> Event:
    """An unnamed event (``data: ...``), as Chat Completions streams use."""
    return Event(b"data: " + dumps(data) + b"\n\n", tokens)


def named_event(name: str, data: Any, tokens: int = 0) -> Event:
    """A named event (``event: ...`` then ``data: ...``), as Responses and Anthropic use."""
    return Event(b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n", tokens)


DONE = Event(b"data: [DONE]\n\n")
