"""Anthropic adapters: table-driven cases over provider-formats.md §1b.

Anthropic's ``input_tokens`` EXCLUDES the cache (unlike OpenAI), cache writes are split
5-minute / 1-hour, and stream ``message_delta`` usage is cumulative: the last one wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from aifinops.providers import (
    AnthropicStreamAccumulator,
    ParsedUsage,
    ProviderFormatError,
    inject_anthropic_attribution,
    parse_anthropic_batch_result,
    parse_anthropic_message,
    parse_anthropic_usage,
    parse_openai_chat_usage,
)
from aifinops.usage import Usage


def case(name: str, *values: object) -> Any:
    return pytest.param(*values, id=name)


# The reference's example message (provider-formats.md §1b).
REFERENCE_USAGE: dict[str, object] = {
    "input_tokens": 25,
    "cache_creation_input_tokens": 1000,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 150,
    "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
    "service_tier": "standard",
    "inference_geo": "global",
}
REFERENCE_MESSAGE: dict[str, object] = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "Hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": REFERENCE_USAGE,
}

USAGE_CASES = [
    case(
        "reference example: 5-minute writes from the split",
        REFERENCE_USAGE,
        Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
    ),
    case(
        "cache reads are outside input_tokens",
        {"input_tokens": 10, "cache_read_input_tokens": 5000, "output_tokens": 20},
        Usage(input_tokens=10, cache_read_tokens=5000, output_tokens=20),
    ),
    case(
        "1-hour writes",
        {
            "input_tokens": 3,
            "cache_creation_input_tokens": 2000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 7,
        },
        Usage(input_tokens=3, cache_write_1h_tokens=2000, output_tokens=7),
    ),
    case(
        "5-minute and 1-hour writes in one call",
        {
            "input_tokens": 3,
            "cache_creation_input_tokens": 1500,
            "cache_read_input_tokens": 400,
            "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000},
            "output_tokens": 7,
        },
        Usage(
            input_tokens=3,
            cache_read_tokens=400,
            cache_write_5m_tokens=500,
            cache_write_1h_tokens=1000,
            output_tokens=7,
        ),
    ),
    case(
        "older response without the split: all 5-minute writes",
        {"input_tokens": 50, "cache_creation_input_tokens": 800, "output_tokens": 9},
        Usage(input_tokens=50, cache_write_5m_tokens=800, output_tokens=9),
    ),
    case(
        "split and total disagree: the split is trusted",
        {
            "input_tokens": 1,
            "cache_creation_input_tokens": 999,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            "output_tokens": 1,
        },
        Usage(
            input_tokens=1, cache_write_5m_tokens=100, cache_write_1h_tokens=200, output_tokens=1
        ),
    ),
    case(
        "web search requests counted; web fetch is not a billed extra",
        {
            "input_tokens": 100,
            "output_tokens": 300,
            "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 2},
        },
        Usage(input_tokens=100, output_tokens=300, web_search_requests=3),
    ),
    case(
        "thinking tokens are inside output_tokens, counted once",
        {
            "input_tokens": 12,
            "output_tokens": 500,
            "output_tokens_details": {"thinking_tokens": 420},
        },
        Usage(input_tokens=12, output_tokens=500, reasoning_tokens=420),
    ),
    case(
        "nulls are absent",
        {
            "input_tokens": 4,
            "cache_creation_input_tokens": None,
            "cache_read_input_tokens": None,
            "cache_creation": None,
            "server_tool_use": None,
            "output_tokens_details": None,
            "output_tokens": 5,
        },
        Usage(input_tokens=4, output_tokens=5),
    ),
]


@pytest.mark.parametrize(("usage", "expected"), USAGE_CASES)
def test_usage(usage: Mapping[str, object], expected: Usage) -> None:
    assert parse_anthropic_usage(usage) == expected


SAME_CALL_CASES = [
    case(
        "1000 cached of 1100 input",
        {
            "prompt_tokens": 1100,
            "completion_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 1000},
        },
        {"input_tokens": 100, "cache_read_input_tokens": 1000, "output_tokens": 40},
        Usage(input_tokens=100, cache_read_tokens=1000, output_tokens=40),
    ),
    case(
        "all cached",
        {
            "prompt_tokens": 2048,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 2048},
        },
        {"input_tokens": 0, "cache_read_input_tokens": 2048, "output_tokens": 1},
        Usage(cache_read_tokens=2048, output_tokens=1),
    ),
]


@pytest.mark.parametrize(("openai_usage", "anthropic_usage", "expected"), SAME_CALL_CASES)
def test_cached_inside_vs_outside_input_agree(
    openai_usage: Mapping[str, object], anthropic_usage: Mapping[str, object], expected: Usage
) -> None:
    """The same call reported both ways lands on the same canonical split."""
    assert parse_openai_chat_usage(openai_usage) == expected
    assert parse_anthropic_usage(anthropic_usage) == expected


BAD_USAGE_CASES = [
    case(
        "negative input", {"input_tokens": -5, "output_tokens": 1}, "usage.input_tokens", "got -5"
    ),
    case(
        "string cache read",
        {"input_tokens": 1, "output_tokens": 1, "cache_read_input_tokens": "12"},
        "usage.cache_read_input_tokens",
        "usage.cache_read_input_tokens: must be a non-negative integer, got '12'",
    ),
    case(
        "bad split count",
        {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": "x"},
        },
        "usage.cache_creation.ephemeral_1h_input_tokens",
        "got 'x'",
    ),
    case(
        "bad total beside a split is still rejected",
        {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation_input_tokens": -1,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        },
        "usage.cache_creation_input_tokens",
        "got -1",
    ),
    case(
        "negative web searches",
        {"input_tokens": 1, "output_tokens": 1, "server_tool_use": {"web_search_requests": -1}},
        "usage.server_tool_use.web_search_requests",
        "got -1",
    ),
    case(
        "thinking > output",
        {"input_tokens": 1, "output_tokens": 10, "output_tokens_details": {"thinking_tokens": 11}},
        "usage.output_tokens_details.thinking_tokens",
        "11 exceeds usage.output_tokens (10)",
    ),
    case("output missing", {"input_tokens": 1}, "usage.output_tokens", "is required"),
    case(
        "cache_creation not an object",
        {"input_tokens": 1, "output_tokens": 1, "cache_creation": [1000]},
        "usage.cache_creation",
        "must be an object",
    ),
]


@pytest.mark.parametrize(("usage", "field", "message"), BAD_USAGE_CASES)
def test_bad_usage_names_the_field(usage: Mapping[str, object], field: str, message: str) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_anthropic_usage(usage)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert message in str(info.value)


# --- whole message ---------------------------------------------------------------------


def _with_usage(**changes: object) -> dict[str, object]:
    return {**REFERENCE_MESSAGE, "usage": {**REFERENCE_USAGE, **changes}}


MESSAGE_CASES = [
    case(
        "reference example",
        REFERENCE_MESSAGE,
        ParsedUsage(
            usage=Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
            model="claude-sonnet-4-6",
            service_tier="standard",
            stop_reason="end_turn",
            response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
            inference_geo="global",
        ),
    ),
    case(
        "priority tier, us geo",
        _with_usage(service_tier="priority", inference_geo="us"),
        ParsedUsage(
            usage=Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
            model="claude-sonnet-4-6",
            service_tier="priority",
            stop_reason="end_turn",
            response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
            inference_geo="us",
        ),
    ),
    case(
        "batch tier sets batch",
        _with_usage(service_tier="batch"),
        ParsedUsage(
            usage=Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
            model="claude-sonnet-4-6",
            service_tier="batch",
            batch=True,
            stop_reason="end_turn",
            response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
            inference_geo="global",
        ),
    ),
    case(
        "no usage: estimated, zero",
        {
            "id": "msg_1",
            "type": "message",
            "model": "claude-haiku-4-5",
            "stop_reason": "max_tokens",
        },
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="claude-haiku-4-5",
            stop_reason="max_tokens",
            response_id="msg_1",
        ),
    ),
]


@pytest.mark.parametrize(("body", "expected"), MESSAGE_CASES)
def test_message(body: Mapping[str, object], expected: ParsedUsage) -> None:
    assert parse_anthropic_message(body) == expected


# --- stream ----------------------------------------------------------------------------


def _start(usage: Mapping[str, object], model: str = "claude-sonnet-4-6") -> dict[str, object]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_stream",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def _delta(usage: Mapping[str, object] | None, stop_reason: str | None = None) -> dict[str, object]:
    event: dict[str, object] = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
    }
    if usage is not None:
        event["usage"] = usage
    return event


START_USAGE = {
    "input_tokens": 25,
    "cache_creation_input_tokens": 1000,
    "cache_read_input_tokens": 300,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 1,
    "service_tier": "standard",
}
BLOCKS = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
]
STOP = {"type": "message_stop"}


def _expected(usage: Usage, stop_reason: str | None = "end_turn", **kw: Any) -> ParsedUsage:
    return ParsedUsage(
        usage=usage,
        model="claude-sonnet-4-6",
        service_tier="standard",
        stop_reason=stop_reason,
        response_id="msg_stream",
        **kw,
    )


STREAM_CASES = [
    case(
        "several cumulative deltas: the last one, not the sum",
        [
            _start(START_USAGE),
            *BLOCKS,
            _delta({"output_tokens": 15}),
            _delta({"output_tokens": 60}),
            _delta({"output_tokens": 150}, "end_turn"),
            STOP,
        ],
        _expected(
            Usage(
                input_tokens=25,
                cache_read_tokens=300,
                cache_write_5m_tokens=1000,
                output_tokens=150,
            )
        ),
    ),
    case(
        "cumulative input and server tool use replace message_start values",
        [
            _start(
                {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 300,
                    "output_tokens": 1,
                    "service_tier": "standard",
                    "server_tool_use": {"web_search_requests": 0},
                }
            ),
            _delta(
                {
                    "output_tokens": 50,
                    "input_tokens": 2000,
                    "server_tool_use": {"web_search_requests": 1},
                }
            ),
            _delta(
                {
                    "output_tokens": 120,
                    "input_tokens": 3500,
                    "server_tool_use": {"web_search_requests": 2},
                },
                "end_turn",
            ),
            STOP,
        ],
        _expected(
            Usage(
                input_tokens=3500, cache_read_tokens=300, output_tokens=120, web_search_requests=2
            )
        ),
    ),
    case(
        "fields absent from the delta keep message_start values",
        [_start(START_USAGE), _delta({"output_tokens": 42}, "max_tokens"), STOP],
        _expected(
            Usage(
                input_tokens=25, cache_read_tokens=300, cache_write_5m_tokens=1000, output_tokens=42
            ),
            stop_reason="max_tokens",
        ),
    ),
    case(
        "null fields in the delta keep message_start values",
        [
            _start(START_USAGE),
            _delta({"output_tokens": 42, "input_tokens": None, "cache_read_input_tokens": None}),
        ],
        _expected(
            Usage(
                input_tokens=25, cache_read_tokens=300, cache_write_5m_tokens=1000, output_tokens=42
            ),
            stop_reason=None,
        ),
    ),
    case(
        "thinking tokens from the last delta",
        [
            _start({"input_tokens": 5, "output_tokens": 1, "service_tier": "standard"}),
            _delta({"output_tokens": 300, "output_tokens_details": {"thinking_tokens": 200}}),
            _delta(
                {"output_tokens": 700, "output_tokens_details": {"thinking_tokens": 500}},
                "end_turn",
            ),
        ],
        _expected(Usage(input_tokens=5, output_tokens=700, reasoning_tokens=500)),
    ),
    case(
        "a larger cumulative write total than the start split: growth is 5-minute",
        [
            _start(
                {
                    **START_USAGE,
                    "cache_creation_input_tokens": 1200,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 200,
                        "ephemeral_1h_input_tokens": 1000,
                    },
                }
            ),
            _delta({"output_tokens": 9, "cache_creation_input_tokens": 1700}, "end_turn"),
        ],
        _expected(
            Usage(
                input_tokens=25,
                cache_read_tokens=300,
                cache_write_5m_tokens=700,
                cache_write_1h_tokens=1000,
                output_tokens=9,
            )
        ),
    ),
    case(
        "a delta restating the same write total leaves the split alone",
        [
            _start(
                {
                    **START_USAGE,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 400,
                        "ephemeral_1h_input_tokens": 600,
                    },
                }
            ),
            _delta({"output_tokens": 9, "cache_creation_input_tokens": 1000}, "end_turn"),
        ],
        _expected(
            Usage(
                input_tokens=25,
                cache_read_tokens=300,
                cache_write_5m_tokens=400,
                cache_write_1h_tokens=600,
                output_tokens=9,
            )
        ),
    ),
    case(
        "interrupted after message_start: start counts only",
        [_start(START_USAGE), *BLOCKS],
        _expected(
            Usage(
                input_tokens=25, cache_read_tokens=300, cache_write_5m_tokens=1000, output_tokens=1
            ),
            stop_reason=None,
        ),
    ),
    case(
        "error event",
        [
            _start(START_USAGE),
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ],
        _expected(
            Usage(
                input_tokens=25, cache_read_tokens=300, cache_write_5m_tokens=1000, output_tokens=1
            ),
            stop_reason=None,
            error_type="overloaded_error",
        ),
    ),
    case("no events: estimated", [], ParsedUsage(usage=Usage(), usage_estimated=True)),
    case(
        "message_start without usage: estimated",
        [
            {
                "type": "message_start",
                "message": {"id": "msg_stream", "model": "claude-sonnet-4-6"},
            },
            _delta(None, "end_turn"),
        ],
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="claude-sonnet-4-6",
            stop_reason="end_turn",
            response_id="msg_stream",
        ),
    ),
]


@pytest.mark.parametrize(("events", "expected"), STREAM_CASES)
def test_stream(events: Sequence[Mapping[str, object]], expected: ParsedUsage) -> None:
    acc = AnthropicStreamAccumulator()
    for event in events:
        acc.feed(event)
    assert acc.result() == expected


def test_stream_deltas_are_not_summed() -> None:
    outputs = [15, 60, 150]
    acc = AnthropicStreamAccumulator()
    acc.feed(_start(START_USAGE))
    for n in outputs:
        acc.feed(_delta({"output_tokens": n}))
    result = acc.result().usage
    assert result.output_tokens == outputs[-1]
    assert result.output_tokens != sum(outputs)
    assert result.input_tokens == START_USAGE["input_tokens"]


STREAM_BAD_CASES = [
    case(
        "bad message_start usage",
        [_start({"input_tokens": "25", "output_tokens": 1})],
        "message.usage.input_tokens",
    ),
    case(
        "negative delta output",
        [_start(START_USAGE), _delta({"output_tokens": -1})],
        "usage.output_tokens",
    ),
    case(
        "string delta web searches",
        [
            _start(START_USAGE),
            _delta({"output_tokens": 1, "server_tool_use": {"web_search_requests": "2"}}),
        ],
        "usage.server_tool_use.web_search_requests",
    ),
    case("message_start without a message", [{"type": "message_start"}], "message"),
]


@pytest.mark.parametrize(("events", "field"), STREAM_BAD_CASES)
def test_stream_bad_events_name_the_field(
    events: Sequence[Mapping[str, object]], field: str
) -> None:
    acc = AnthropicStreamAccumulator()
    with pytest.raises(ProviderFormatError) as info:
        for event in events:
            acc.feed(event)
    assert info.value.field == field


def test_stream_thinking_above_final_output_is_rejected_at_the_end() -> None:
    acc = AnthropicStreamAccumulator()
    acc.feed(_start({"input_tokens": 5, "output_tokens": 1}))
    acc.feed(_delta({"output_tokens": 10, "output_tokens_details": {"thinking_tokens": 11}}))
    with pytest.raises(ProviderFormatError) as info:
        acc.result()
    assert info.value.field == "message.usage.output_tokens_details.thinking_tokens"


# --- batch -----------------------------------------------------------------------------

BATCH_MESSAGE = _with_usage(service_tier="batch")

BATCH_CASES = [
    case(
        "succeeded",
        {
            "custom_id": "my-first-request",
            "result": {"type": "succeeded", "message": BATCH_MESSAGE},
        },
        ParsedUsage(
            usage=Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
            model="claude-sonnet-4-6",
            service_tier="batch",
            batch=True,
            stop_reason="end_turn",
            response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
            custom_id="my-first-request",
            inference_geo="global",
        ),
    ),
    case(
        "succeeded, tier not echoed: still batch",
        {
            "custom_id": "r2",
            "result": {"type": "succeeded", "message": _with_usage(service_tier=None)},
        },
        ParsedUsage(
            usage=Usage(input_tokens=25, cache_write_5m_tokens=1000, output_tokens=150),
            model="claude-sonnet-4-6",
            batch=True,
            stop_reason="end_turn",
            response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
            custom_id="r2",
            inference_geo="global",
        ),
    ),
    case(
        "errored: not billed",
        {
            "custom_id": "r3",
            "result": {
                "type": "errored",
                "error": {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "bad"},
                },
            },
        },
        ParsedUsage(usage=Usage(), batch=True, custom_id="r3", error_type="invalid_request_error"),
    ),
    case(
        "expired",
        {"custom_id": "r4", "result": {"type": "expired"}},
        ParsedUsage(usage=Usage(), batch=True, custom_id="r4", error_type="expired"),
    ),
    case(
        "canceled",
        {"custom_id": "r5", "result": {"type": "canceled"}},
        ParsedUsage(usage=Usage(), batch=True, custom_id="r5", error_type="canceled"),
    ),
]


@pytest.mark.parametrize(("line", "expected"), BATCH_CASES)
def test_batch_result(line: Mapping[str, object], expected: ParsedUsage) -> None:
    assert parse_anthropic_batch_result(line) == expected


BATCH_BAD_CASES = [
    case("no result", {"custom_id": "r"}, "result"),
    case("unknown type", {"custom_id": "r", "result": {"type": "done"}}, "result.type"),
    case(
        "bad usage inside the message",
        {
            "custom_id": "r",
            "result": {"type": "succeeded", "message": _with_usage(input_tokens=-1)},
        },
        "result.message.usage.input_tokens",
    ),
    case("succeeded without message", {"result": {"type": "succeeded"}}, "result.message"),
]


@pytest.mark.parametrize(("line", "field"), BATCH_BAD_CASES)
def test_batch_result_bad_lines_name_the_field(line: Mapping[str, object], field: str) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_anthropic_batch_result(line)
    assert info.value.field == field


# --- attribution -----------------------------------------------------------------------

INJECT_CASES = [
    case("no metadata", {"model": "claude-sonnet-4-6"}, "cust-1", {"user_id": "cust-1"}),
    case(
        "other metadata keys are kept",
        {"metadata": {"trace": "t-9"}},
        "cust-1",
        {"trace": "t-9", "user_id": "cust-1"},
    ),
    case(
        "the client's user_id is never overwritten",
        {"metadata": {"user_id": "theirs", "trace": "t"}},
        "ours",
        {"user_id": "theirs", "trace": "t"},
    ),
    case("null metadata", {"metadata": None}, "cust-2", {"user_id": "cust-2"}),
    case("empty user_id counts as unset", {"metadata": {"user_id": ""}}, "c", {"user_id": "c"}),
]


@pytest.mark.parametrize(("body", "user_id", "metadata"), INJECT_CASES)
def test_inject_anthropic_attribution(
    body: dict[str, object], user_id: str, metadata: dict[str, str]
) -> None:
    snapshot = {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}
    out = inject_anthropic_attribution(body, user_id)
    assert out["metadata"] == metadata
    assert body == snapshot  # neither the body nor its metadata is modified
    assert {k: v for k, v in out.items() if k != "metadata"} == {
        k: v for k, v in body.items() if k != "metadata"
    }


def test_inject_rejects_non_object_metadata() -> None:
    with pytest.raises(ProviderFormatError) as info:
        inject_anthropic_attribution({"metadata": "user-1"}, "cust")
    assert info.value.field == "body.metadata"


def test_inject_rejects_empty_user_id() -> None:
    with pytest.raises(ValueError, match="user_id"):
        inject_anthropic_attribution({}, "")
