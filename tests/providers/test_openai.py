"""OpenAI adapters: table-driven cases over the wire formats in provider-formats.md §2c.

OpenAI's ``prompt_tokens``/``input_tokens`` INCLUDE cached and cache-write tokens, so the
canonical uncached input is what is left after taking them out; reasoning is inside the
output total and must be counted once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from aifinops.providers import (
    OpenAIChatStreamAccumulator,
    OpenAIResponsesStreamAccumulator,
    ParsedUsage,
    ProviderFormatError,
    inject_openai_attribution,
    parse_openai_batch_output_line,
    parse_openai_chat_completion,
    parse_openai_chat_usage,
    parse_openai_embeddings_response,
    parse_openai_embeddings_usage,
    parse_openai_response,
    parse_openai_responses_usage,
)
from aifinops.usage import Usage


def case(name: str, *values: object) -> Any:
    return pytest.param(*values, id=name)


# --- Chat Completions usage ------------------------------------------------------------

CHAT_USAGE_CASES = [
    case(
        "no details",
        {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        Usage(input_tokens=100, output_tokens=50),
    ),
    case(
        "cached tokens are inside prompt_tokens",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        },
        Usage(input_tokens=86, cache_read_tokens=1920, output_tokens=300),
    ),
    case(
        "cache writes are inside prompt_tokens and go to the 5m slot",
        {
            "prompt_tokens": 5000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 3000},
        },
        Usage(
            input_tokens=1000, cache_read_tokens=1000, cache_write_5m_tokens=3000, output_tokens=10
        ),
    ),
    case(
        "reasoning tokens are inside completion_tokens, counted once",
        {
            "prompt_tokens": 75,
            "completion_tokens": 1186,
            "completion_tokens_details": {"reasoning_tokens": 1024, "text_tokens": 162},
        },
        Usage(input_tokens=75, output_tokens=1186, reasoning_tokens=1024),
    ),
    case(
        "rejected prediction tokens stay in the billed output",
        {
            "prompt_tokens": 40,
            "completion_tokens": 300,
            "completion_tokens_details": {
                "accepted_prediction_tokens": 150,
                "rejected_prediction_tokens": 90,
                "reasoning_tokens": 0,
            },
        },
        Usage(input_tokens=40, output_tokens=300),
    ),
    case(
        "all prompt tokens cached",
        {
            "prompt_tokens": 1024,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
        Usage(cache_read_tokens=1024, output_tokens=1),
    ),
    case(
        "null details and null counts are absent",
        {
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": None, "cache_write_tokens": None},
            "completion_tokens_details": None,
        },
        Usage(input_tokens=12, output_tokens=3),
    ),
]


@pytest.mark.parametrize(("usage", "expected"), CHAT_USAGE_CASES)
def test_chat_usage(usage: Mapping[str, object], expected: Usage) -> None:
    parsed = parse_openai_chat_usage(usage)
    assert parsed == expected
    # The canonical split adds back up to what OpenAI reported as prompt_tokens.
    assert parsed.total_input_tokens == usage["prompt_tokens"]


RESPONSES_USAGE_CASES = [
    case(
        "no cache, no reasoning",
        {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 87,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 123,
        },
        Usage(input_tokens=36, output_tokens=87),
    ),
    case(
        "cached tokens are inside input_tokens",
        {
            "input_tokens": 3000,
            "input_tokens_details": {"cached_tokens": 2048},
            "output_tokens": 200,
            "output_tokens_details": {"reasoning_tokens": 128},
            "total_tokens": 3200,
        },
        Usage(input_tokens=952, cache_read_tokens=2048, output_tokens=200, reasoning_tokens=128),
    ),
    case(
        "cache writes with a TTL breakdown still go to the 5m slot",
        {
            "input_tokens": 9000,
            "input_tokens_details": {
                "cached_tokens": 0,
                "cache_write_tokens": 8000,
                "cache_write_tokens_details": {"ttl_30m_tokens": 6000, "ttl_12h_tokens": 2000},
            },
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
        },
        Usage(input_tokens=1000, cache_write_5m_tokens=8000, output_tokens=5),
    ),
    case(
        "details missing",
        {"input_tokens": 10, "output_tokens": 20},
        Usage(input_tokens=10, output_tokens=20),
    ),
]


@pytest.mark.parametrize(("usage", "expected"), RESPONSES_USAGE_CASES)
def test_responses_usage(usage: Mapping[str, object], expected: Usage) -> None:
    parsed = parse_openai_responses_usage(usage)
    assert parsed == expected
    assert parsed.total_input_tokens == usage["input_tokens"]


BAD_USAGE_CASES = [
    case(
        "chat: negative prompt_tokens",
        parse_openai_chat_usage,
        {"prompt_tokens": -1, "completion_tokens": 0},
        "usage.prompt_tokens",
        "usage.prompt_tokens: must be a non-negative integer, got -1",
    ),
    case(
        "chat: cached_tokens is a string",
        parse_openai_chat_usage,
        {
            "prompt_tokens": 10,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": "x"},
        },
        "usage.prompt_tokens_details.cached_tokens",
        "usage.prompt_tokens_details.cached_tokens: must be a non-negative integer, got 'x'",
    ),
    case(
        "chat: prompt_tokens is a numeric string",
        parse_openai_chat_usage,
        {"prompt_tokens": "10", "completion_tokens": 0},
        "usage.prompt_tokens",
        "got '10'",
    ),
    case(
        "chat: completion_tokens is a bool",
        parse_openai_chat_usage,
        {"prompt_tokens": 10, "completion_tokens": True},
        "usage.completion_tokens",
        "got True",
    ),
    case(
        "chat: completion_tokens is a float",
        parse_openai_chat_usage,
        {"prompt_tokens": 10, "completion_tokens": 1.5},
        "usage.completion_tokens",
        "got 1.5",
    ),
    case(
        "chat: completion_tokens missing",
        parse_openai_chat_usage,
        {"prompt_tokens": 10},
        "usage.completion_tokens",
        "usage.completion_tokens: is required",
    ),
    case(
        "chat: cached > prompt",
        parse_openai_chat_usage,
        {
            "prompt_tokens": 10,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 11},
        },
        "usage.prompt_tokens_details.cached_tokens",
        "11 exceeds usage.prompt_tokens (10)",
    ),
    case(
        "chat: cached + cache writes > prompt",
        parse_openai_chat_usage,
        {
            "prompt_tokens": 10,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 6, "cache_write_tokens": 5},
        },
        "usage.prompt_tokens_details.cache_write_tokens",
        "5 exceeds usage.prompt_tokens minus cached_tokens (4)",
    ),
    case(
        "chat: reasoning > completion",
        parse_openai_chat_usage,
        {
            "prompt_tokens": 1,
            "completion_tokens": 5,
            "completion_tokens_details": {"reasoning_tokens": 6},
        },
        "usage.completion_tokens_details.reasoning_tokens",
        "6 exceeds usage.completion_tokens (5)",
    ),
    case(
        "chat: details not an object",
        parse_openai_chat_usage,
        {"prompt_tokens": 1, "completion_tokens": 1, "prompt_tokens_details": 7},
        "usage.prompt_tokens_details",
        "must be an object, got 7",
    ),
    case(
        "chat: usage not an object",
        parse_openai_chat_usage,
        ["prompt_tokens", 1],
        "usage",
        "usage: must be an object",
    ),
    case(
        "responses: cached > input",
        parse_openai_responses_usage,
        {"input_tokens": 5, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 50}},
        "usage.input_tokens_details.cached_tokens",
        "50 exceeds usage.input_tokens (5)",
    ),
    case(
        "responses: negative reasoning",
        parse_openai_responses_usage,
        {"input_tokens": 5, "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": -2}},
        "usage.output_tokens_details.reasoning_tokens",
        "got -2",
    ),
    case(
        "responses: reasoning > output",
        parse_openai_responses_usage,
        {"input_tokens": 5, "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 2}},
        "usage.output_tokens_details.reasoning_tokens",
        "2 exceeds usage.output_tokens (1)",
    ),
    case(
        "responses: input_tokens missing",
        parse_openai_responses_usage,
        {"output_tokens": 1},
        "usage.input_tokens",
        "is required",
    ),
    case(
        "embeddings: prompt > total",
        parse_openai_embeddings_usage,
        {"prompt_tokens": 9, "total_tokens": 8},
        "usage.prompt_tokens",
        "9 exceeds usage.total_tokens (8)",
    ),
    case(
        "embeddings: prompt is a string",
        parse_openai_embeddings_usage,
        {"prompt_tokens": "nine", "total_tokens": 9},
        "usage.prompt_tokens",
        "got 'nine'",
    ),
]


@pytest.mark.parametrize(("parse", "usage", "field", "message"), BAD_USAGE_CASES)
def test_bad_usage_names_the_field(
    parse: Callable[[Any], Usage], usage: object, field: str, message: str
) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse(usage)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


# --- whole bodies ----------------------------------------------------------------------

CHAT_BODY = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "length",
        },
        {"index": 1, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"},
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
    "service_tier": "flex",
    "system_fingerprint": "fp_fc9f1d7035",
}

RESPONSE_BODY = {
    "id": "resp_67ccd3a9da748190baa7f1570fe91ac6",
    "object": "response",
    "created_at": 1741476777,
    "status": "completed",
    "incomplete_details": None,
    "model": "o4-mini-2025-04-16",
    "service_tier": "default",
    "output": [],
    "usage": {
        "input_tokens": 1500,
        "input_tokens_details": {"cached_tokens": 1200},
        "output_tokens": 900,
        "output_tokens_details": {"reasoning_tokens": 640},
        "total_tokens": 2400,
    },
}

EMBEDDINGS_BODY = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}

BODY_CASES = [
    case(
        "chat: model, tier, first choice's finish_reason",
        parse_openai_chat_completion,
        CHAT_BODY,
        ParsedUsage(
            usage=Usage(input_tokens=93, cache_read_tokens=1024, output_tokens=46),
            model="gpt-4o-2024-08-06",
            service_tier="flex",
            stop_reason="length",
            response_id="chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        ),
    ),
    case(
        "chat: no usage means estimated, zero",
        parse_openai_chat_completion,
        {"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop"}]},
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="gpt-4o",
            stop_reason="stop",
            response_id="c1",
        ),
    ),
    case(
        "responses: completed",
        parse_openai_response,
        RESPONSE_BODY,
        ParsedUsage(
            usage=Usage(
                input_tokens=300, cache_read_tokens=1200, output_tokens=900, reasoning_tokens=640
            ),
            model="o4-mini-2025-04-16",
            service_tier="default",
            stop_reason="completed",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
        ),
    ),
    case(
        "responses: incomplete reason is the stop reason",
        parse_openai_response,
        {
            **RESPONSE_BODY,
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
        },
        ParsedUsage(
            usage=Usage(
                input_tokens=300, cache_read_tokens=1200, output_tokens=900, reasoning_tokens=640
            ),
            model="o4-mini-2025-04-16",
            service_tier="default",
            stop_reason="max_output_tokens",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
        ),
    ),
    case(
        "embeddings: input only",
        parse_openai_embeddings_response,
        EMBEDDINGS_BODY,
        ParsedUsage(usage=Usage(input_tokens=8), model="text-embedding-3-small"),
    ),
]


@pytest.mark.parametrize(("parse", "body", "expected"), BODY_CASES)
def test_whole_body(
    parse: Callable[[Mapping[str, object]], ParsedUsage],
    body: Mapping[str, object],
    expected: ParsedUsage,
) -> None:
    assert parse(body) == expected


def test_body_error_path_includes_usage() -> None:
    body = {**CHAT_BODY, "usage": {"prompt_tokens": 1, "completion_tokens": -3}}
    with pytest.raises(ProviderFormatError, match=r"^usage\.completion_tokens: "):
        parse_openai_chat_completion(body)


# --- streams ---------------------------------------------------------------------------


def _chunk(
    delta: Mapping[str, object] | None = None,
    finish_reason: str | None = None,
    *,
    usage: Mapping[str, object] | None = None,
    choices: bool = True,
) -> dict[str, object]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "service_tier": "default",
        "choices": (
            [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
            if choices
            else []
        ),
        "usage": usage,
    }


FINAL_USAGE = {
    "prompt_tokens": 2100,
    "completion_tokens": 12,
    "total_tokens": 2112,
    "prompt_tokens_details": {"cached_tokens": 2048},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
CONTENT_CHUNKS = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hello"}),
    _chunk({"content": " world"}),
    _chunk({}, "stop"),
]

CHAT_STREAM_CASES = [
    case(
        "final usage chunk present (include_usage)",
        [*CONTENT_CHUNKS, _chunk(usage=FINAL_USAGE, choices=False)],
        ParsedUsage(
            usage=Usage(input_tokens=52, cache_read_tokens=2048, output_tokens=12),
            model="gpt-4o-mini",
            service_tier="default",
            stop_reason="stop",
            response_id="chatcmpl-123",
        ),
    ),
    case(
        "final usage chunk absent: estimated, zero, nothing invented",
        CONTENT_CHUNKS,
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="gpt-4o-mini",
            service_tier="default",
            stop_reason="stop",
            response_id="chatcmpl-123",
        ),
    ),
    case(
        "interrupted before finish_reason",
        CONTENT_CHUNKS[:2],
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="gpt-4o-mini",
            service_tier="default",
            response_id="chatcmpl-123",
        ),
    ),
    case(
        "running usage totals: the last wins, never summed",
        [
            _chunk({"content": "a"}, usage={"prompt_tokens": 10, "completion_tokens": 1}),
            _chunk({"content": "b"}, usage={"prompt_tokens": 10, "completion_tokens": 2}),
            _chunk({}, "length", usage={"prompt_tokens": 10, "completion_tokens": 3}),
        ],
        ParsedUsage(
            usage=Usage(input_tokens=10, output_tokens=3),
            model="gpt-4o-mini",
            service_tier="default",
            stop_reason="length",
            response_id="chatcmpl-123",
        ),
    ),
    case("no chunks at all", [], ParsedUsage(usage=Usage(), usage_estimated=True)),
]


@pytest.mark.parametrize(("chunks", "expected"), CHAT_STREAM_CASES)
def test_chat_stream(chunks: Sequence[Mapping[str, object]], expected: ParsedUsage) -> None:
    acc = OpenAIChatStreamAccumulator()
    for chunk in chunks:
        acc.feed(chunk)
    assert acc.result() == expected


def test_chat_stream_finish_reason_of_first_choice_only() -> None:
    acc = OpenAIChatStreamAccumulator()
    acc.feed({"model": "m", "choices": [{"index": 1, "delta": {}, "finish_reason": "length"}]})
    acc.feed({"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    acc.feed({"model": "m", "choices": [{"index": 2, "delta": {}, "finish_reason": "length"}]})
    assert acc.result().stop_reason == "stop"


def test_chat_stream_bad_usage_names_the_field() -> None:
    acc = OpenAIChatStreamAccumulator()
    acc.feed(CONTENT_CHUNKS[0])
    bad = {**FINAL_USAGE, "prompt_tokens_details": {"cached_tokens": 3000}}
    with pytest.raises(ProviderFormatError) as info:
        acc.feed(_chunk(usage=bad, choices=False))
    assert info.value.field == "usage.prompt_tokens_details.cached_tokens"


def _event(kind: str, response: Mapping[str, object] | None = None) -> dict[str, object]:
    event: dict[str, object] = {"type": kind, "sequence_number": 0}
    if response is not None:
        event["response"] = response
    return event


IN_PROGRESS = {**RESPONSE_BODY, "status": "in_progress", "usage": None}

RESPONSES_STREAM_CASES = [
    case(
        "usage arrives in response.completed",
        [
            _event("response.created", IN_PROGRESS),
            _event("response.in_progress", IN_PROGRESS),
            {"type": "response.output_text.delta", "delta": "Hi", "sequence_number": 3},
            _event("response.completed", RESPONSE_BODY),
        ],
        ParsedUsage(
            usage=Usage(
                input_tokens=300, cache_read_tokens=1200, output_tokens=900, reasoning_tokens=640
            ),
            model="o4-mini-2025-04-16",
            service_tier="default",
            stop_reason="completed",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
        ),
    ),
    case(
        "incomplete responses are billed too",
        [
            _event("response.created", IN_PROGRESS),
            _event(
                "response.incomplete",
                {
                    **RESPONSE_BODY,
                    "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"},
                    "usage": {"input_tokens": 20, "output_tokens": 64},
                },
            ),
        ],
        ParsedUsage(
            usage=Usage(input_tokens=20, output_tokens=64),
            model="o4-mini-2025-04-16",
            service_tier="default",
            stop_reason="max_output_tokens",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
        ),
    ),
    case(
        "interrupted before response.completed",
        [
            _event("response.created", IN_PROGRESS),
            {"type": "response.output_text.delta", "delta": "Hi", "sequence_number": 3},
        ],
        ParsedUsage(
            usage=Usage(),
            usage_estimated=True,
            model="o4-mini-2025-04-16",
            service_tier="default",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
        ),
    ),
    case("no events", [], ParsedUsage(usage=Usage(), usage_estimated=True)),
]


@pytest.mark.parametrize(("events", "expected"), RESPONSES_STREAM_CASES)
def test_responses_stream(events: Sequence[Mapping[str, object]], expected: ParsedUsage) -> None:
    acc = OpenAIResponsesStreamAccumulator()
    for event in events:
        acc.feed(event)
    assert acc.result() == expected


def test_responses_stream_bad_usage_names_the_field() -> None:
    acc = OpenAIResponsesStreamAccumulator()
    body = {**RESPONSE_BODY, "usage": {"input_tokens": 1, "output_tokens": "many"}}
    with pytest.raises(ProviderFormatError) as info:
        acc.feed(_event("response.completed", body))
    assert info.value.field == "response.usage.output_tokens"


# --- batch -----------------------------------------------------------------------------

BATCH_CASES = [
    case(
        "chat completion line",
        {
            "id": "batch_req_123",
            "custom_id": "request-2",
            "response": {"status_code": 200, "request_id": "req_123", "body": CHAT_BODY},
            "error": None,
        },
        ParsedUsage(
            usage=Usage(input_tokens=93, cache_read_tokens=1024, output_tokens=46),
            model="gpt-4o-2024-08-06",
            service_tier="flex",
            batch=True,
            stop_reason="length",
            response_id="chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            request_id="req_123",
            custom_id="request-2",
            status=200,
        ),
    ),
    case(
        "responses line",
        {
            "id": "batch_req_124",
            "custom_id": "r-3",
            "response": {"status_code": 200, "request_id": "req_124", "body": RESPONSE_BODY},
        },
        ParsedUsage(
            usage=Usage(
                input_tokens=300, cache_read_tokens=1200, output_tokens=900, reasoning_tokens=640
            ),
            model="o4-mini-2025-04-16",
            service_tier="default",
            batch=True,
            stop_reason="completed",
            response_id="resp_67ccd3a9da748190baa7f1570fe91ac6",
            request_id="req_124",
            custom_id="r-3",
            status=200,
        ),
    ),
    case(
        "embeddings line",
        {
            "id": "batch_req_125",
            "custom_id": "e-1",
            "response": {"status_code": 200, "request_id": "req_125", "body": EMBEDDINGS_BODY},
        },
        ParsedUsage(
            usage=Usage(input_tokens=8),
            model="text-embedding-3-small",
            batch=True,
            request_id="req_125",
            custom_id="e-1",
            status=200,
        ),
    ),
    case(
        "failed request: not billed, not estimated",
        {
            "id": "batch_req_126",
            "custom_id": "x-9",
            "response": {
                "status_code": 400,
                "request_id": "req_126",
                "body": {"error": {"message": "bad", "type": "invalid_request_error"}},
            },
        },
        ParsedUsage(
            usage=Usage(),
            batch=True,
            request_id="req_126",
            custom_id="x-9",
            status=400,
            error_type="invalid_request_error",
        ),
    ),
    case(
        "line with error and no response",
        {
            "id": "batch_req_127",
            "custom_id": "x-10",
            "response": None,
            "error": {"code": "batch_expired", "message": "expired"},
        },
        ParsedUsage(usage=Usage(), batch=True, custom_id="x-10", error_type="batch_expired"),
    ),
]


@pytest.mark.parametrize(("line", "expected"), BATCH_CASES)
def test_batch_output_line(line: Mapping[str, object], expected: ParsedUsage) -> None:
    assert parse_openai_batch_output_line(line) == expected


def test_batch_line_error_path_is_inside_the_body() -> None:
    body = {
        **CHAT_BODY,
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 6},
        },
    }
    line = {"custom_id": "c", "response": {"status_code": 200, "body": body}}
    with pytest.raises(ProviderFormatError) as info:
        parse_openai_batch_output_line(line)
    assert info.value.field == "response.body.usage.prompt_tokens_details.cached_tokens"


# --- attribution -----------------------------------------------------------------------

LONG_ID = "customer:" + "x" * 80
HASHED = "sha256:" + hashlib.sha256(LONG_ID.encode()).hexdigest()[:57]

INJECT_CASES = [
    case("sets when absent", {"model": "gpt-4o"}, "cust-42", "cust-42"),
    case("never overwrites the client's", {"safety_identifier": "theirs"}, "ours", "theirs"),
    case("null counts as unset", {"safety_identifier": None}, "ours", "ours"),
    case("empty counts as unset", {"safety_identifier": ""}, "ours", "ours"),
    case("exactly 64 chars kept as is", {}, "a" * 64, "a" * 64),
    case("longer than 64 chars hashed", {}, LONG_ID, HASHED),
    case("user (deprecated) is a different field", {"user": "u-1"}, "cust-1", "cust-1"),
]


@pytest.mark.parametrize(("body", "value", "expected"), INJECT_CASES)
def test_inject_openai_attribution(body: dict[str, object], value: str, expected: str) -> None:
    before = dict(body)
    out = inject_openai_attribution(body, value)
    assert out["safety_identifier"] == expected
    assert len(str(out["safety_identifier"])) <= 64
    assert body == before  # the input is not modified
    assert out is not body
    assert {k: v for k, v in out.items() if k != "safety_identifier"} == {
        k: v for k, v in body.items() if k != "safety_identifier"
    }


def test_hashed_identifier_is_stable_and_distinct() -> None:
    a = inject_openai_attribution({}, "y" * 100)["safety_identifier"]
    assert a == inject_openai_attribution({}, "y" * 100)["safety_identifier"]
    assert a != inject_openai_attribution({}, "y" * 101)["safety_identifier"]
    assert len(str(a)) == 64


def test_inject_rejects_empty_identifier() -> None:
    with pytest.raises(ValueError, match="safety_identifier"):
        inject_openai_attribution({}, "")
