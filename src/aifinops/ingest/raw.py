"""Raw provider records (one JSON object per line) to canonical `UsageEvent`s.

Formats (``aifinops import events FILE --format …``):

- ``openai``: a Chat Completions, Responses or Embeddings response body, or one line of
  a Batch API output file. The call time is the body's ``created``/``created_at``.
- ``anthropic``: a Messages response body or one line of a Message Batches results file.
  These carry no timestamp, so wrap them: ``{"ts": "…", "response": {…}}``.
- ``bedrock-log``: a model-invocation log record (CloudWatch Logs / S3).

Any record may be wrapped in an envelope ``{"ts", "team", "feature", "customer_id",
"prompt_version", "unit_id", "tag_<name>", …, "response": {…}}`` whose canonical fields
attribute the call; the provider payload goes under ``response``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aifinops.providers import (
    ParsedUsage,
    parse_anthropic_batch_result,
    parse_anthropic_message,
    parse_bedrock_invocation_log,
    parse_openai_batch_output_line,
    parse_openai_chat_completion,
    parse_openai_embeddings_response,
    parse_openai_response,
)
from aifinops.usage import (
    TOKEN_FIELDS,
    RecordError,
    UsageEvent,
    event_from_record,
    flat_from_event,
    flat_from_record,
)

RAW_FORMATS = ("openai", "anthropic", "bedrock-log")
_ENVELOPE_PAYLOAD = "response"


def _split_envelope(record: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    payload = record.get(_ENVELOPE_PAYLOAD)
    if isinstance(payload, Mapping) and "custom_id" not in record:
        envelope = {k: v for k, v in record.items() if k != _ENVELOPE_PAYLOAD}
        return envelope, payload
    return {}, record


def _openai_parse(payload: Mapping[str, Any]) -> ParsedUsage:
    if "custom_id" in payload:
        return parse_openai_batch_output_line(payload)
    kind = payload.get("object")
    if kind == "chat.completion":
        return parse_openai_chat_completion(payload)
    if kind == "response":
        return parse_openai_response(payload)
    if kind == "list":
        return parse_openai_embeddings_response(payload)
    raise RecordError(
        "object",
        f"{kind!r} is not an OpenAI chat.completion, response or embeddings list "
        "(or a Batch API output line)",
    )


def _openai_created(payload: Mapping[str, Any]) -> object:
    body = payload
    response = payload.get("response")
    if "custom_id" in payload and isinstance(response, Mapping):
        inner = response.get("body")
        body = inner if isinstance(inner, Mapping) else {}
    created = body.get("created", body.get("created_at"))
    if isinstance(created, (int, float)) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, tz=UTC)
    return None


def _anthropic_parse(payload: Mapping[str, Any]) -> ParsedUsage:
    if "custom_id" in payload:
        return parse_anthropic_batch_result(payload)
    return parse_anthropic_message(payload)


def _record(
    provider: str, parsed: ParsedUsage, envelope: dict[str, Any], ts: object
) -> dict[str, Any]:
    usage = parsed.usage
    ident = parsed.response_id or parsed.request_id or parsed.custom_id
    record: dict[str, Any] = {
        "provider": provider,
        "model": parsed.model,
        "service_tier": parsed.service_tier,
        "batch": parsed.batch,
        "stop_reason": parsed.stop_reason,
        "usage_estimated": parsed.usage_estimated,
        "request_id": parsed.request_id,
        "status": parsed.status,
        "error_type": parsed.error_type,
        **{name: getattr(usage, name) for name in TOKEN_FIELDS},
    }
    if ident:
        record["event_id"] = f"{provider}:{ident}"
    record.update({k: v for k, v in envelope.items() if v is not None})
    if record.get("ts") is None:
        record["ts"] = ts
    return record


def _no_ts(provider: str) -> RecordError:
    return RecordError(
        "ts",
        f"{provider} payloads carry no timestamp here; wrap the line as "
        '{"ts": "2026-11-01T12:00:00Z", "response": {...}}',
    )


def _from_openai(record: Mapping[str, Any]) -> UsageEvent:
    envelope, payload = _split_envelope(record)
    parsed = _openai_parse(payload)
    out = _record("openai", parsed, envelope, _openai_created(payload))
    if out.get("ts") is None:
        raise _no_ts("openai")
    return event_from_record(out)


def _from_anthropic(record: Mapping[str, Any]) -> UsageEvent:
    envelope, payload = _split_envelope(record)
    out = _record("anthropic", _anthropic_parse(payload), envelope, None)
    if out.get("ts") is None:
        raise _no_ts("anthropic")
    return event_from_record(out)


def _from_bedrock_log(record: Mapping[str, Any]) -> UsageEvent:
    return parse_bedrock_invocation_log(record)


CONVERTERS: dict[str, Callable[[Mapping[str, Any]], UsageEvent]] = {
    "openai": _from_openai,
    "anthropic": _from_anthropic,
    "bedrock-log": _from_bedrock_log,
}


def converter_for(file_format: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The row → flat canonical fields function of a format (``canonical``: flat rows)."""
    if file_format in ("canonical", "jsonl", "csv"):
        return flat_from_record
    try:
        to_event = CONVERTERS[file_format]
    except KeyError:
        known = ", ".join(("canonical", *RAW_FORMATS))
        raise RecordError("format", f"unknown format {file_format!r}; use {known}") from None
    return lambda row: flat_from_event(to_event(row))
