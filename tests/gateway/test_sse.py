"""The gateway's SSE accounting: events found in any split of the bytes, usage and text
read on every provider's stream, the same answers from the per-event fast paths as from
the general ones, and a malformed field still reported."""

from __future__ import annotations

import random
from types import MappingProxyType

import orjson
import pytest

from aifinops.gateway.sse import StreamProcessor, _data_of
from aifinops.providers import (
    AnthropicStreamAccumulator,
    OpenAIChatStreamAccumulator,
    OpenAIResponsesStreamAccumulator,
)


@pytest.mark.parametrize(
    ("event", "data"),
    [
        (b"data: {}\n\n", b"{}"),
        (b"event: ping\ndata: {}\n\n", b"{}"),
        (b"event: ping\ndata:{}\n\n", b"{}"),  # no space after the colon
        (b"data: {\ndata: }\n\n", b"{\n}"),  # data on two lines
        (b"event: e\nid: 7\ndata: [1]\n\n", b"[1]"),
        (b": a comment\n\n", None),
        (b"event: e\n: no data\n\n", None),
        (b"event: e\nid: 7\n\n", None),
    ],
)
def test_the_data_of_an_event(event: bytes, data: bytes | None) -> None:
    assert _data_of(event) == data


def _sse(events: list[tuple[str | None, dict[str, object]]]) -> bytes:
    out = b""
    for name, obj in events:
        if name is not None:
            out += b"event: " + name.encode() + b"\n"
        out += b"data: " + orjson.dumps(obj) + b"\n\n"
    return out


def _feed(kind: str, provider: str, data: bytes, seed: int) -> tuple[StreamProcessor, bytes]:
    rng = random.Random(seed)
    proc = StreamProcessor(kind, provider, strip_usage_chunk=False)
    out, i = b"", 0
    while i < len(data):
        step = rng.randint(1, 300)
        out += proc.feed(data[i : i + step]).output
        i += step
    return proc, out


ANTHROPIC = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude-haiku-4-5",
                "stop_reason": None,
                "usage": {"input_tokens": 14, "output_tokens": 1},
            },
        },
    ),
    ("ping", {"type": "ping"}),
    ("content_block_start", {"type": "content_block_start", "index": 0}),
    *[
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"text": w}},
        )
        for w in ("Few", " get", " the", " bill", " right", " ☃")
    ],
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 6},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]

RESPONSES = [
    (
        "response.created",
        {"type": "response.created", "response": {"id": "r1", "model": "gpt-4o-mini"}},
    ),
    *[
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": w})
        for w in ("One", " two", " três")
    ],
    (
        "response.completed",
        {
            "type": "response.completed",
            "response": {
                "id": "r1",
                "model": "gpt-4o-mini",
                "status": "completed",
                "usage": {"input_tokens": 9, "output_tokens": 3},
            },
        },
    ),
]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("kind", "provider", "events", "text", "usage", "stop", "model"),
    [
        (
            "messages",
            "anthropic",
            ANTHROPIC,
            "Few get the bill right ☃",
            (14, 6),
            "end_turn",
            "claude-haiku-4-5",
        ),
        ("responses", "openai", RESPONSES, "One two três", (9, 3), "completed", "gpt-4o-mini"),
    ],
)
def test_a_stream_split_anywhere(
    seed: int,
    kind: str,
    provider: str,
    events: list[tuple[str | None, dict[str, object]]],
    text: str,
    usage: tuple[int, int],
    stop: str,
    model: str,
) -> None:
    data = _sse(events)
    proc, out = _feed(kind, provider, data, seed)
    assert out == data and proc.finished and proc.format_error is None
    assert proc.text_bytes == len(text.encode())  # UTF-8 bytes, not characters
    result = proc.result()
    assert (result.usage.input_tokens, result.usage.output_tokens) == usage
    assert (result.stop_reason, result.model) == (stop, model)


CHAT = [
    {
        "id": "c1",
        "model": "gpt-4o-mini",
        "service_tier": "default",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
    },
    {"id": "c1", "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop"}]},
    {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1}},
]


@pytest.mark.parametrize(
    ("make", "events"),
    [
        (OpenAIChatStreamAccumulator, CHAT),
        (OpenAIResponsesStreamAccumulator, [e for _, e in RESPONSES]),
        (AnthropicStreamAccumulator, [e for _, e in ANTHROPIC]),
    ],
)
def test_accumulators_read_any_mapping_alike(make: type, events: list[dict[str, object]]) -> None:
    # the per-event fast paths take dicts (what orjson gives); other mappings take the
    # general path: both must come to the same result
    plain, other = make(), make()
    for event in events:
        plain.feed(event)
        other.feed(MappingProxyType(event))
    assert plain.result() == other.result()


@pytest.mark.parametrize(
    ("kind", "provider", "event", "field"),
    [
        ("messages", "anthropic", {"type": 5}, "type"),
        ("responses", "openai", {"type": ["response.completed"]}, "type"),
        ("chat", "openai", {"id": "c1", "model": 5, "choices": []}, "model"),
        ("chat", "openai", {"id": 7, "model": "gpt-4o-mini", "choices": []}, "id"),
    ],
)
def test_a_malformed_field_is_still_reported(
    kind: str, provider: str, event: dict[str, object], field: str
) -> None:
    proc = StreamProcessor(kind, provider, strip_usage_chunk=False)
    proc.feed(b"data: " + orjson.dumps(event) + b"\n\n")
    assert proc.format_error is not None and field in proc.format_error
