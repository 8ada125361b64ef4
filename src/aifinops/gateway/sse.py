"""A server-sent-event stream passing through: split into events, usage read, forwarded.

Each upstream chunk is forwarded as soon as it arrives, up to the end of its last
complete event (a partial event waits for its end, which no client could use earlier
anyway). Every event's JSON is fed to the provider's stream accumulator. Three changes
are made, on purpose:

- OpenAI Chat Completions: when the gateway itself asked for ``include_usage``, the
  extra usage-only chunk (``choices: []`` with ``usage``) is dropped;
- an event whose data is not JSON (an upstream sending garbage) is replaced by an
  error event in the provider's shape and the stream ends, so the SDK raises a clear
  error instead of failing to decode;
- ``\\r\\n`` line ends are normalised to ``\\n``.

``terminal`` reports that the output contains the stream's last event (``[DONE]``,
``message_stop``, ``response.completed`` …): the caller records the call before
forwarding it, so a client that saw the end of the stream always has its ledger row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from aifinops.gateway.errors import stream_error_event
from aifinops.providers import (
    AnthropicStreamAccumulator,
    OpenAIChatStreamAccumulator,
    OpenAIResponsesStreamAccumulator,
    ParsedUsage,
    ProviderFormatError,
)

_RESPONSES_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_ANTHROPIC_DELTA_KEYS = ("text", "thinking", "partial_json")


class _Accumulator(Protocol):
    def feed(self, event: Mapping[str, object]) -> None: ...

    def result(self) -> ParsedUsage: ...


@dataclass(slots=True)
class Feed:
    output: bytes
    terminal: bool


class StreamProcessor:
    """The gateway's view of one SSE response (see the module docstring)."""

    def __init__(self, kind: str, provider: str, *, strip_usage_chunk: bool) -> None:
        self.kind = kind
        self.provider = provider
        self.strip_usage_chunk = strip_usage_chunk
        self.accumulator: _Accumulator
        if kind == "chat":
            self.accumulator = OpenAIChatStreamAccumulator()
        elif kind == "responses":
            self.accumulator = OpenAIResponsesStreamAccumulator()
        else:
            self.accumulator = AnthropicStreamAccumulator()
        self._buffer = b""
        self.text_bytes = 0  # generated text seen, for estimates when usage never comes
        self.finished = False  # the terminal event went through
        self.malformed = False  # upstream sent an event that is not JSON
        self.format_error: str | None = None  # usage the adapter could not read

    def feed(self, chunk: bytes) -> Feed:
        if self.malformed or self.finished:
            return Feed(b"", False)
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
        buffer = self._buffer + chunk if self._buffer else chunk
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer
            return Feed(b"", False)
        self._buffer = buffer[end + 2 :]
        complete = buffer[: end + 2]
        out: list[bytes] = []
        terminal = False
        start = 0
        while start < len(complete):
            stop = complete.find(b"\n\n", start) + 2
            event = complete[start:stop]
            start = stop
            keep, terminal = self._event(event)
            if self.malformed:
                out.append(stream_error_event(self.provider, "the upstream sent an invalid event"))
                terminal = True
                break
            if keep:
                out.append(event)
            if terminal:
                self.finished = True
                break
        return Feed(b"".join(out), terminal)

    def _event(self, event: bytes) -> tuple[bool, bool]:
        """(forward it, it is the terminal event)."""
        data = _data_of(event)
        if data is None:
            return True, False
        if data == b"[DONE]":
            return True, True
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.malformed = True
            return False, True
        if not isinstance(obj, dict):
            return True, False
        try:
            self.accumulator.feed(obj)
        except ProviderFormatError as exc:
            self.format_error = str(exc)
        return self._inspect(obj)

    def _inspect(self, obj: dict[str, Any]) -> tuple[bool, bool]:
        # Called for every event of every stream: exact types are checked inline (a
        # JSON object decodes to a dict, a string to a str), no helper calls.
        if self.kind == "chat":
            choices = obj.get("choices")
            if type(choices) is list:
                for choice in choices:
                    delta = choice.get("delta") if type(choice) is dict else None
                    if type(delta) is dict:
                        content = delta.get("content")
                        if type(content) is str:
                            self.text_bytes += _utf8_len(content)
            keep = not (self.strip_usage_chunk and choices == [] and obj.get("usage"))
            return keep, False
        kind = obj.get("type")
        if self.kind == "responses":
            delta = obj.get("delta")
            if type(delta) is str:
                self.text_bytes += _utf8_len(delta)
            return True, type(kind) is str and kind in _RESPONSES_TERMINAL
        if kind == "content_block_delta":
            delta = obj.get("delta")
            if type(delta) is dict:
                for key in _ANTHROPIC_DELTA_KEYS:
                    text = delta.get(key)
                    if type(text) is str:
                        self.text_bytes += _utf8_len(text)
        return True, kind in ("message_stop", "error")

    def result(self) -> ParsedUsage:
        return self.accumulator.result()

    def rest(self) -> bytes:
        """What is left after the upstream closed (an unterminated last event)."""
        rest, self._buffer = self._buffer, b""
        return b"" if self.finished or self.malformed else rest


def _utf8_len(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (estimates count 4 bytes a token): its length when it
    is ASCII, which Python knows without looking at it."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _data_of(event: bytes) -> bytes | None:
    """The joined ``data:`` lines of one event, None when it has none."""
    lines = event.count(b"\n")
    if lines == 2 and event.startswith(b"data: "):  # OpenAI's events
        return event[6:-2]
    if lines == 3 and event.startswith(b"event: "):  # Anthropic's: event, then data
        start = event.find(b"\n") + 1
        if event.startswith(b"data: ", start):
            return event[start + 6 : -2]
    parts = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            parts.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(parts) if parts else None
