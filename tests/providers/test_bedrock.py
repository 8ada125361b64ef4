"""Bedrock adapters: table-driven cases over provider-formats.md §3a–3b.

Bedrock reports cache counts BESIDE ``inputTokens``/``inputTokenCount`` (the reading this
project takes; AWS has not confirmed it), and splits cache writes by TTL only in
Converse's ``cacheDetails``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from aifinops.providers import (
    BedrockConverseStreamAccumulator,
    ParsedUsage,
    ProviderFormatError,
    parse_bedrock_converse_metadata,
    parse_bedrock_converse_response,
    parse_bedrock_invocation_log,
    parse_bedrock_invocation_metrics,
    parse_bedrock_token_usage,
)
from aifinops.usage import Attribution, Usage, UsageEvent


def case(name: str, *values: object) -> Any:
    return pytest.param(*values, id=name)


# --- Converse TokenUsage ---------------------------------------------------------------

TOKEN_USAGE_CASES = [
    case(
        "no cache",
        {"inputTokens": 100, "outputTokens": 50, "totalTokens": 150},
        Usage(input_tokens=100, output_tokens=50),
    ),
    case(
        "cache counts are beside inputTokens, not inside it",
        {
            "inputTokens": 2,
            "outputTokens": 512,
            "totalTokens": 96014,
            "cacheReadInputTokens": 95500,
            "cacheWriteInputTokens": 0,
        },
        Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
    ),
    case(
        "writes without cacheDetails are 5-minute writes",
        {"inputTokens": 10, "outputTokens": 5, "cacheWriteInputTokens": 1200},
        Usage(input_tokens=10, cache_write_5m_tokens=1200, output_tokens=5),
    ),
    case(
        "cacheDetails as AWS sorts it (1h before 5m)",
        {
            "inputTokens": 10,
            "outputTokens": 5,
            "cacheReadInputTokens": 40,
            "cacheWriteInputTokens": 500,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 300}, {"ttl": "5m", "inputTokens": 200}],
        },
        Usage(
            input_tokens=10,
            cache_read_tokens=40,
            cache_write_5m_tokens=200,
            cache_write_1h_tokens=300,
            output_tokens=5,
        ),
    ),
    case(
        "cacheDetails in the other order: same split",
        {
            "inputTokens": 10,
            "outputTokens": 5,
            "cacheReadInputTokens": 40,
            "cacheWriteInputTokens": 500,
            "cacheDetails": [{"ttl": "5m", "inputTokens": 200}, {"ttl": "1h", "inputTokens": 300}],
        },
        Usage(
            input_tokens=10,
            cache_read_tokens=40,
            cache_write_5m_tokens=200,
            cache_write_1h_tokens=300,
            output_tokens=5,
        ),
    ),
    case(
        "cacheDetails with only 1h",
        {
            "inputTokens": 1,
            "outputTokens": 1,
            "cacheWriteInputTokens": 4096,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 4096}],
        },
        Usage(input_tokens=1, cache_write_1h_tokens=4096, output_tokens=1),
    ),
    case(
        "empty cacheDetails: fall back to 5-minute",
        {"inputTokens": 1, "outputTokens": 1, "cacheWriteInputTokens": 64, "cacheDetails": []},
        Usage(input_tokens=1, cache_write_5m_tokens=64, output_tokens=1),
    ),
    case(
        "cacheDetails and total disagree: the split is trusted",
        {
            "inputTokens": 1,
            "outputTokens": 1,
            "cacheWriteInputTokens": 999,
            "cacheDetails": [{"ttl": "5m", "inputTokens": 100}],
        },
        Usage(input_tokens=1, cache_write_5m_tokens=100, output_tokens=1),
    ),
]


@pytest.mark.parametrize(("usage", "expected"), TOKEN_USAGE_CASES)
def test_token_usage(usage: Mapping[str, object], expected: Usage) -> None:
    assert parse_bedrock_token_usage(usage) == expected


BAD_TOKEN_USAGE_CASES = [
    case(
        "negative output",
        {"inputTokens": 1, "outputTokens": -2},
        "usage.outputTokens",
        "usage.outputTokens: must be a non-negative integer, got -2",
    ),
    case(
        "string cache read",
        {"inputTokens": 1, "outputTokens": 1, "cacheReadInputTokens": "95500"},
        "usage.cacheReadInputTokens",
        "got '95500'",
    ),
    case("missing inputTokens", {"outputTokens": 1}, "usage.inputTokens", "is required"),
    case(
        "unknown ttl",
        {"inputTokens": 1, "outputTokens": 1, "cacheDetails": [{"ttl": "24h", "inputTokens": 1}]},
        "usage.cacheDetails[0].ttl",
        "must be '5m' or '1h', got '24h'",
    ),
    case(
        "detail without a count",
        {
            "inputTokens": 1,
            "outputTokens": 1,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 1}, {"ttl": "5m"}],
        },
        "usage.cacheDetails[1].inputTokens",
        "is required",
    ),
    case(
        "cacheDetails not an array",
        {"inputTokens": 1, "outputTokens": 1, "cacheDetails": {"ttl": "5m"}},
        "usage.cacheDetails",
        "must be an array",
    ),
    case(
        "bad totalTokens",
        {"inputTokens": 1, "outputTokens": 1, "totalTokens": -1},
        "usage.totalTokens",
        "got -1",
    ),
]


@pytest.mark.parametrize(("usage", "field", "message"), BAD_TOKEN_USAGE_CASES)
def test_bad_token_usage_names_the_field(
    usage: Mapping[str, object], field: str, message: str
) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_bedrock_token_usage(usage)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert message in str(info.value)


# --- Converse response, ConverseStream -------------------------------------------------

CONVERSE_USAGE = {
    "inputTokens": 30,
    "outputTokens": 200,
    "totalTokens": 2730,
    "cacheReadInputTokens": 500,
    "cacheWriteInputTokens": 2000,
    "cacheDetails": [{"ttl": "1h", "inputTokens": 1500}, {"ttl": "5m", "inputTokens": 500}],
}
CONVERSE_SPLIT = Usage(
    input_tokens=30,
    cache_read_tokens=500,
    cache_write_5m_tokens=500,
    cache_write_1h_tokens=1500,
    output_tokens=200,
)

CONVERSE_CASES = [
    case(
        "with cacheDetails and tier echo",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
            "stopReason": "end_turn",
            "usage": CONVERSE_USAGE,
            "metrics": {"latencyMs": 812},
            "serviceTier": {"type": "flex"},
        },
        ParsedUsage(usage=CONVERSE_SPLIT, service_tier="flex", stop_reason="end_turn"),
    ),
    case(
        "without cacheDetails or tier",
        {
            "output": {"message": {"role": "assistant", "content": []}},
            "stopReason": "max_tokens",
            "usage": {"inputTokens": 7, "outputTokens": 9, "cacheWriteInputTokens": 30},
        },
        ParsedUsage(
            usage=Usage(input_tokens=7, cache_write_5m_tokens=30, output_tokens=9),
            stop_reason="max_tokens",
        ),
    ),
    case(
        "no usage: estimated",
        {"stopReason": "end_turn"},
        ParsedUsage(usage=Usage(), usage_estimated=True, stop_reason="end_turn"),
    ),
]


@pytest.mark.parametrize(("body", "expected"), CONVERSE_CASES)
def test_converse_response(body: Mapping[str, object], expected: ParsedUsage) -> None:
    assert parse_bedrock_converse_response(body) == expected


def test_converse_metadata_event() -> None:
    metadata = {
        "usage": CONVERSE_USAGE,
        "metrics": {"latencyMs": 100},
        "serviceTier": {"type": "priority"},
    }
    assert parse_bedrock_converse_metadata(metadata) == ParsedUsage(
        usage=CONVERSE_SPLIT, service_tier="priority"
    )


def test_converse_metadata_error_path() -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_bedrock_converse_metadata({"usage": {"inputTokens": 1, "outputTokens": "x"}})
    assert info.value.field == "metadata.usage.outputTokens"


STREAM_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "lo"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
]

STREAM_CASES = [
    case(
        "metadata event after messageStop",
        [
            *STREAM_EVENTS,
            {
                "metadata": {
                    "usage": CONVERSE_USAGE,
                    "metrics": {"latencyMs": 90},
                    "serviceTier": {"type": "default"},
                }
            },
        ],
        ParsedUsage(usage=CONVERSE_SPLIT, service_tier="default", stop_reason="end_turn"),
    ),
    case(
        "no metadata event: estimated",
        STREAM_EVENTS,
        ParsedUsage(usage=Usage(), usage_estimated=True, stop_reason="end_turn"),
    ),
    case(
        "exception event",
        [*STREAM_EVENTS[:2], {"throttlingException": {"message": "slow down"}}],
        ParsedUsage(usage=Usage(), usage_estimated=True, error_type="throttlingException"),
    ),
]


@pytest.mark.parametrize(("events", "expected"), STREAM_CASES)
def test_converse_stream(events: Sequence[Mapping[str, object]], expected: ParsedUsage) -> None:
    acc = BedrockConverseStreamAccumulator()
    for event in events:
        acc.feed(event)
    assert acc.result() == expected


# --- InvokeModelWithResponseStream final chunk -----------------------------------------

METRICS_CASES = [
    case(
        "with cache counts",
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 12,
                "outputTokenCount": 340,
                "invocationLatency": 2000,
                "firstByteLatency": 300,
                "cacheReadInputTokenCount": 4000,
                "cacheWriteInputTokenCount": 800,
            },
        },
        ParsedUsage(
            usage=Usage(
                input_tokens=12,
                cache_read_tokens=4000,
                cache_write_5m_tokens=800,
                output_tokens=340,
            )
        ),
    ),
    case(
        "without cache counts",
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 34},
        },
        ParsedUsage(usage=Usage(input_tokens=12, output_tokens=34)),
    ),
]


@pytest.mark.parametrize(("chunk", "expected"), METRICS_CASES)
def test_invocation_metrics(chunk: Mapping[str, object], expected: ParsedUsage) -> None:
    assert parse_bedrock_invocation_metrics(chunk) == expected


METRICS_BAD_CASES = [
    case("no metrics", {"type": "message_stop"}, "amazon-bedrock-invocationMetrics"),
    case(
        "string count",
        {"amazon-bedrock-invocationMetrics": {"inputTokenCount": "12", "outputTokenCount": 1}},
        "amazon-bedrock-invocationMetrics.inputTokenCount",
    ),
]


@pytest.mark.parametrize(("chunk", "field"), METRICS_BAD_CASES)
def test_invocation_metrics_bad(chunk: Mapping[str, object], field: str) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_bedrock_invocation_metrics(chunk)
    assert info.value.field == field


# --- model-invocation log records ------------------------------------------------------

PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/xyz"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/app-role/session"

LOG_RECORD: dict[str, Any] = {
    "schemaType": "ModelInvocationLog",
    "schemaVersion": "1.0",
    "timestamp": "2026-08-28T12:00:00Z",
    "accountId": "123456789012",
    "identity": {"arn": ROLE_ARN},
    "region": "us-east-1",
    "requestId": "abcd-1234",
    "operation": "Converse",
    "modelId": PROFILE_ARN,
    "input": {
        "inputContentType": "application/json",
        "inputTokenCount": 2,
        "cacheReadInputTokenCount": 95500,
        "cacheWriteInputTokenCount": 0,
    },
    "output": {"outputContentType": "application/json", "outputTokenCount": 512},
    "requestMetadata": {"team": "search", "costCentre": "CC-1234"},
}


def _record(**changes: Any) -> dict[str, Any]:
    return {**LOG_RECORD, **changes}


BASE_TAGS = {"iam_arn": ROLE_ARN, "region": "us-east-1", "account_id": "123456789012"}


def _event(usage: Usage, attribution: Attribution, **kw: Any) -> UsageEvent:
    fields: dict[str, Any] = {
        "event_id": "bedrock:abcd-1234",
        "ts": datetime(2026, 8, 28, 12, 0, tzinfo=UTC),
        "provider": "bedrock",
        "model": PROFILE_ARN,
        "request_id": "abcd-1234",
        "endpoint": "Converse",
        **kw,
    }
    return UsageEvent(usage=usage, attribution=attribution, **fields)


LOG_CASES = [
    case(
        "reference record with cache fields",
        LOG_RECORD,
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(team="search", tags={"costCentre": "CC-1234", **BASE_TAGS}),
        ),
    ),
    case(
        "without cache fields (caching not used)",
        _record(
            input={"inputContentType": "application/json", "inputTokenCount": 1800},
            modelId="anthropic.claude-sonnet-4-6",
            operation="InvokeModel",
        ),
        _event(
            Usage(input_tokens=1800, output_tokens=512),
            Attribution(team="search", tags={"costCentre": "CC-1234", **BASE_TAGS}),
            model="anthropic.claude-sonnet-4-6",
            endpoint="InvokeModel",
        ),
    ),
    case(
        "cache writes are 5-minute writes",
        _record(input={"inputTokenCount": 5, "cacheWriteInputTokenCount": 3000}),
        _event(
            Usage(input_tokens=5, cache_write_5m_tokens=3000, output_tokens=512),
            Attribution(team="search", tags={"costCentre": "CC-1234", **BASE_TAGS}),
        ),
    ),
    case(
        "every attribution key, and cross-region routing",
        _record(
            requestMetadata={
                "team": "support",
                "feature": "ticket-triage",
                "customer_id": "acme",
                "prompt_version": "v7",
                "unit_id": "T-991",
                "env": "prod",
            },
            inferenceRegion="us-west-2",
        ),
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(
                team="support",
                feature="ticket-triage",
                customer_id="acme",
                prompt_version="v7",
                unit_id="T-991",
                tags={"env": "prod", "inference_region": "us-west-2", **BASE_TAGS},
            ),
        ),
    ),
    case(
        "customer is accepted for customer_id",
        _record(requestMetadata={"customer": "globex"}),
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(customer_id="globex", tags=BASE_TAGS),
        ),
    ),
    case(
        "customer_id wins over customer, which stays a tag",
        _record(requestMetadata={"customer": "globex", "customer_id": "acme"}),
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(customer_id="acme", tags={"customer": "globex", **BASE_TAGS}),
        ),
    ),
    case(
        "no requestMetadata, no identity",
        {
            k: v
            for k, v in LOG_RECORD.items()
            if k not in {"requestMetadata", "identity", "accountId", "region"}
        },
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(),
        ),
    ),
    case(
        "record facts win over metadata keys of the same name",
        _record(requestMetadata={"region": "mars-1", "team": "t"}),
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(team="t", tags=BASE_TAGS),
        ),
    ),
    case(
        "timestamp with offset is converted to UTC",
        _record(timestamp="2026-08-28T14:00:00+02:00"),
        _event(
            Usage(input_tokens=2, cache_read_tokens=95500, output_tokens=512),
            Attribution(team="search", tags={"costCentre": "CC-1234", **BASE_TAGS}),
        ),
    ),
]


@pytest.mark.parametrize(("record", "expected"), LOG_CASES)
def test_invocation_log(record: Mapping[str, object], expected: UsageEvent) -> None:
    event = parse_bedrock_invocation_log(record)
    assert event == expected
    assert event.ts.tzinfo is not None


def _without(key: str, inner: str | None = None) -> dict[str, Any]:
    record = dict(LOG_RECORD)
    if inner is None:
        del record[key]
    else:
        record[key] = {k: v for k, v in record[key].items() if k != inner}
    return record


LOG_BAD_CASES = [
    case("missing timestamp", _without("timestamp"), "timestamp", "is required"),
    case("bad timestamp", _record(timestamp="yesterday"), "timestamp", "not an ISO-8601"),
    case("missing requestId", _without("requestId"), "requestId", "is required"),
    case("empty modelId", _record(modelId=""), "modelId", "is required"),
    case("missing input", _without("input"), "input", "is required"),
    case(
        "missing input.inputTokenCount",
        _without("input", "inputTokenCount"),
        "input.inputTokenCount",
        "is required",
    ),
    case(
        "missing output.outputTokenCount",
        _without("output", "outputTokenCount"),
        "output.outputTokenCount",
        "is required",
    ),
    case(
        "negative cache read",
        _record(input={"inputTokenCount": 1, "cacheReadInputTokenCount": -4}),
        "input.cacheReadInputTokenCount",
        "got -4",
    ),
    case(
        "string output count",
        _record(output={"outputTokenCount": "512"}),
        "output.outputTokenCount",
        "got '512'",
    ),
    case(
        "non-string metadata value",
        _record(requestMetadata={"team": 7}),
        "requestMetadata.team",
        "must be a string, got 7",
    ),
    case("record not an object", ["not", "a", "record"], "payload", "must be an object"),
]


@pytest.mark.parametrize(("record", "field", "message"), LOG_BAD_CASES)
def test_invocation_log_bad_records_name_the_field(record: Any, field: str, message: str) -> None:
    with pytest.raises(ProviderFormatError) as info:
        parse_bedrock_invocation_log(record)
    assert info.value.field == field
    assert message in str(info.value)
