"""Raw provider records → canonical events (`aifinops import events --format …`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aifinops.ingest.raw import converter_for
from aifinops.usage import RecordError

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1793534400,  # 2026-11-01T12:00:00Z
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant"}}],
    "usage": {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "model": "claude-sonnet-4-5",
    "stop_reason": "end_turn",
    "usage": {
        "input_tokens": 25,
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1000},
        "output_tokens": 150,
    },
}
BEDROCK_LOG = {
    "schemaType": "ModelInvocationLog",
    "schemaVersion": "1.0",
    "timestamp": "2026-08-28T12:00:00Z",
    "accountId": "123456789012",
    "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/app-role/session"},
    "region": "us-east-1",
    "requestId": "abcd-1234",
    "operation": "Converse",
    "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "input": {"inputTokenCount": 2, "cacheReadInputTokenCount": 95500},
    "output": {"outputTokenCount": 512},
    "requestMetadata": {"team": "search", "costCentre": "CC-1234"},
}


def convert(fmt: str, record: dict[str, Any]) -> dict[str, Any]:
    return converter_for(fmt)(record)


def test_openai_chat_body() -> None:
    flat = convert("openai", CHAT)
    assert flat["event_id"] == "openai:chatcmpl-1"
    assert flat["ts"] == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert (flat["input_tokens"], flat["cache_read_tokens"], flat["output_tokens"]) == (
        176,
        1024,
        300,
    )
    assert flat["stop_reason"] == "stop" and flat["service_tier"] == "default"


def test_openai_envelope_attributes_the_call() -> None:
    flat = convert("openai", {"team": "sales", "tag_env": "prod", "response": CHAT})
    assert flat["team"] == "sales" and flat["tags"] == {"env": "prod"}


def test_openai_batch_output_line() -> None:
    line = {
        "id": "batch_req_1",
        "custom_id": "req-7",
        "response": {"status_code": 200, "request_id": "req_abc", "body": CHAT},
        "error": None,
    }
    flat = convert("openai", line)
    assert flat["batch"] is True
    assert flat["ts"] == datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_anthropic_needs_an_envelope_with_ts() -> None:
    with pytest.raises(RecordError) as info:
        convert("anthropic", MESSAGE)
    assert info.value.field == "ts" and '"response"' in info.value.reason
    flat = convert("anthropic", {"ts": "2026-11-01T12:00:00Z", "feature": "f", "response": MESSAGE})
    assert flat["cache_write_1h_tokens"] == 1000 and flat["input_tokens"] == 25
    assert flat["event_id"] == "anthropic:msg_1" and flat["feature"] == "f"


def test_bedrock_log() -> None:
    flat = convert("bedrock-log", BEDROCK_LOG)
    assert flat["provider"] == "bedrock"
    assert flat["cache_read_tokens"] == 95500 and flat["input_tokens"] == 2
    assert flat["team"] == "search"


def test_bad_payload_names_the_field() -> None:
    bad = {**CHAT, "usage": {**CHAT["usage"], "prompt_tokens": "many"}}
    with pytest.raises(RecordError) as info:
        convert("openai", bad)
    assert info.value.field == "usage.prompt_tokens"
    with pytest.raises(RecordError) as info:
        convert("openai", {"object": "thing"})
    assert info.value.field == "object"


def test_unknown_format() -> None:
    with pytest.raises(RecordError, match="canonical, openai, anthropic, bedrock-log"):
        converter_for("gemini")
