"""AWS Bedrock wire formats → canonical usage; invocation log records → `UsageEvent`.

Bedrock reports cache counts BESIDE the input count. Whether Converse ``inputTokens``
(and the invocation log's / InvokeModel metrics' ``inputTokenCount``) includes the
cache-read and cache-write tokens is UNCONFIRMED by AWS documentation. The evidence
(invocation logs showing ``inputTokenCount=2`` next to ``cacheReadInputTokenCount=95500``
for Claude, and a third-party adapter that switched to "reported separately") says it
EXCLUDES them, so this module reads it that way: canonical ``input_tokens`` is
``inputTokens`` as sent, and the cache counts are added beside it, never subtracted.
If AWS ever documents the opposite, `_uncached_input` is the one place to change.

Cache writes are split by TTL from ``cacheDetails[]{ttl, inputTokens}`` when present
(AWS lists 1h before 5m; the order is not relied on); otherwise all writes are 5-minute
writes, the default TTL.

Covered: Converse responses, ConverseStream events (the ``metadata`` event carries
usage), the InvokeModelWithResponseStream final chunk's
``amazon-bedrock-invocationMetrics``, and model-invocation log records (CloudWatch
Logs / S3), which become whole `UsageEvent` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from aifinops.providers.base import (
    JSONObject,
    ParsedUsage,
    ProviderFormatError,
    as_object,
    int_or_zero,
    join,
    opt_int,
    opt_list,
    opt_object,
    opt_str,
    req_int,
    req_object,
    req_str,
)
from aifinops.usage import Attribution, RecordError, Usage, UsageEvent, parse_ts

__all__ = [
    "INVOCATION_METRICS_KEY",
    "BedrockConverseStreamAccumulator",
    "parse_bedrock_converse_metadata",
    "parse_bedrock_converse_response",
    "parse_bedrock_invocation_log",
    "parse_bedrock_invocation_metrics",
    "parse_bedrock_token_usage",
]

INVOCATION_METRICS_KEY = "amazon-bedrock-invocationMetrics"

_CACHE_TTLS = ("5m", "1h")


def _uncached_input(obj: JSONObject, key: str, path: str) -> int:
    # UNCONFIRMED reading (see module docstring): the input count EXCLUDES cache reads
    # and writes, so it is already the canonical uncached input.
    return req_int(obj, key, path)


def _cache_writes(obj: JSONObject, path: str) -> tuple[int, int]:
    """(5-minute, 1-hour) cache writes of a Converse TokenUsage."""
    total = opt_int(obj, "cacheWriteInputTokens", path)
    details = opt_list(obj, "cacheDetails", path)
    if not details:
        return (total or 0), 0
    # With a split present, the split is trusted over cacheWriteInputTokens if the two
    # disagree (as for Anthropic): only the split says what is billed at the 1h rate.
    by_ttl = dict.fromkeys(_CACHE_TTLS, 0)
    for i, raw in enumerate(details):
        item_path = f"{join(path, 'cacheDetails')}[{i}]"
        item = as_object(raw, item_path)
        ttl = opt_str(item, "ttl", item_path)
        if ttl not in by_ttl:
            raise ProviderFormatError(
                join(item_path, "ttl"), f"must be '5m' or '1h', got {ttl!r}", ttl
            )
        by_ttl[ttl] += req_int(item, "inputTokens", item_path)
    return by_ttl["5m"], by_ttl["1h"]


def parse_bedrock_token_usage(usage: Mapping[str, object], *, path: str = "usage") -> Usage:
    """A Converse / ConverseStream ``TokenUsage`` object → canonical `Usage`.

    ``inputTokens`` is read as uncached input (UNCONFIRMED; see the module docstring);
    ``cacheReadInputTokens`` and the cache writes are counted beside it. ``totalTokens``
    is validated but not used.
    """
    obj = as_object(usage, path)
    opt_int(obj, "totalTokens", path)
    write_5m, write_1h = _cache_writes(obj, path)
    return Usage(
        input_tokens=_uncached_input(obj, "inputTokens", path),
        cache_read_tokens=int_or_zero(obj, "cacheReadInputTokens", path),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=req_int(obj, "outputTokens", path),
    )


def _service_tier(obj: JSONObject, path: str) -> str | None:
    """The ``serviceTier{type}`` echo (``priority|default|flex|reserved``)."""
    tier = opt_object(obj, "serviceTier", path)
    return opt_str(tier, "type", join(path, "serviceTier"))


def _usage_of(obj: JSONObject, path: str) -> tuple[Usage, bool]:
    raw = opt_object(obj, "usage", path)
    if raw is None:
        return Usage(), True
    return parse_bedrock_token_usage(raw, path=join(path, "usage")), False


def parse_bedrock_converse_response(body: Mapping[str, object]) -> ParsedUsage:
    """A whole Converse response → `ParsedUsage` (``usage``, ``stopReason``,
    ``serviceTier``). The response names no model: ``model`` is None, the caller knows
    the ``modelId`` it sent."""
    obj = as_object(body, "")
    usage, estimated = _usage_of(obj, "")
    return ParsedUsage(
        usage=usage,
        usage_estimated=estimated,
        service_tier=_service_tier(obj, ""),
        stop_reason=opt_str(obj, "stopReason", ""),
    )


def parse_bedrock_converse_metadata(metadata: Mapping[str, object]) -> ParsedUsage:
    """The body of a ConverseStream ``metadata`` event (``{"usage", "metrics",
    "serviceTier", …}``) → `ParsedUsage`. Its stop reason is in ``messageStop``; use
    `BedrockConverseStreamAccumulator` for a whole stream."""
    obj = as_object(metadata, "metadata")
    usage, estimated = _usage_of(obj, "metadata")
    return ParsedUsage(
        usage=usage,
        usage_estimated=estimated,
        service_tier=_service_tier(obj, "metadata"),
    )


class BedrockConverseStreamAccumulator:
    """Feed each ConverseStream event as boto3 yields it (``{"messageStop": {...}}``,
    ``{"metadata": {...}}``, …); read the `ParsedUsage` at the end.

    Usage and the tier echo come from the ``metadata`` event, the stop reason from
    ``messageStop``; an ``…Exception`` event sets ``error_type``. No ``metadata`` event
    means zero usage with ``usage_estimated=True``.
    """

    def __init__(self) -> None:
        self._metadata: ParsedUsage | None = None
        self._stop_reason: str | None = None
        self._error_type: str | None = None

    def feed(self, event: Mapping[str, object]) -> None:
        """Take one event; unknown event types are ignored."""
        obj = as_object(event, "")
        if "messageStop" in obj:
            stop = opt_object(obj, "messageStop", "")
            self._stop_reason = opt_str(stop, "stopReason", "messageStop") or self._stop_reason
        if "metadata" in obj:
            self._metadata = parse_bedrock_converse_metadata(as_object(obj["metadata"], "metadata"))
        for key in obj:
            if key.endswith("Exception"):
                self._error_type = key

    def result(self) -> ParsedUsage:
        """What the stream reported so far (call after the last event)."""
        metadata = self._metadata
        return ParsedUsage(
            usage=metadata.usage if metadata else Usage(),
            usage_estimated=metadata is None,
            service_tier=metadata.service_tier if metadata else None,
            stop_reason=self._stop_reason,
            error_type=self._error_type,
        )


def parse_bedrock_invocation_metrics(chunk: Mapping[str, object]) -> ParsedUsage:
    """The final InvokeModelWithResponseStream chunk → `ParsedUsage`.

    Reads ``amazon-bedrock-invocationMetrics{inputTokenCount, outputTokenCount,
    cacheReadInputTokenCount, cacheWriteInputTokenCount}``; ``inputTokenCount`` is read
    as uncached input (UNCONFIRMED, see the module docstring). The metrics carry no TTL
    split, so cache writes are all 5-minute writes; for Claude the chunks themselves are
    Anthropic stream events, whose ``message_start`` carries the split
    (`aifinops.providers.anthropic.AnthropicStreamAccumulator`).
    """
    obj = as_object(chunk, "")
    metrics = req_object(obj, INVOCATION_METRICS_KEY, "")
    path = INVOCATION_METRICS_KEY
    return ParsedUsage(
        usage=Usage(
            input_tokens=_uncached_input(metrics, "inputTokenCount", path),
            cache_read_tokens=int_or_zero(metrics, "cacheReadInputTokenCount", path),
            cache_write_5m_tokens=int_or_zero(metrics, "cacheWriteInputTokenCount", path),
            output_tokens=req_int(metrics, "outputTokenCount", path),
        ),
    )


# --- model-invocation log records ------------------------------------------------------

# requestMetadata keys that fill Attribution fields (first key present wins); every
# other key becomes a tag.
_ATTRIBUTION_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("team", ("team",)),
    ("feature", ("feature",)),
    ("customer_id", ("customer_id", "customer")),
    ("prompt_version", ("prompt_version",)),
    ("unit_id", ("unit_id",)),
)


def _request_metadata(record: JSONObject) -> dict[str, str]:
    raw = opt_object(record, "requestMetadata", "")
    if raw is None:
        return {}
    out: dict[str, str] = {}
    for key in raw:
        value = opt_str(raw, key, "requestMetadata")
        if value is not None:
            out[key] = value
    return out


def _attribution(record: JSONObject) -> Attribution:
    """Attribution from ``requestMetadata``, plus the record's own facts as tags.

    ``team``, ``feature``, ``customer_id`` (or ``customer``), ``prompt_version`` and
    ``unit_id`` fill the fields; other keys (including a ``customer`` shadowed by
    ``customer_id``) become tags. ``identity.arn`` → tag ``iam_arn``, ``region`` →
    ``region``, ``accountId`` → ``account_id``, ``inferenceRegion`` →
    ``inference_region``; these facts of the record win over metadata keys of the same
    name.
    """
    metadata = _request_metadata(record)
    fields: dict[str, str | None] = {}
    used: set[str] = set()
    for name, keys in _ATTRIBUTION_KEYS:
        key = next((k for k in keys if k in metadata), None)
        fields[name] = metadata[key] if key else None
        if key:
            used.add(key)
    tags = {k: v for k, v in metadata.items() if k not in used}
    identity = opt_object(record, "identity", "")
    facts = {
        "iam_arn": opt_str(identity, "arn", "identity"),
        "region": opt_str(record, "region", ""),
        "account_id": opt_str(record, "accountId", ""),
        "inference_region": opt_str(record, "inferenceRegion", ""),
    }
    tags.update({k: v for k, v in facts.items() if v is not None})
    return Attribution(tags=tags, **fields)


def _timestamp(record: JSONObject) -> datetime:
    try:
        return parse_ts(record.get("timestamp"), "timestamp")
    except RecordError as exc:
        raise ProviderFormatError(exc.field, exc.reason, exc.value) from None


def parse_bedrock_invocation_log(record: Mapping[str, object]) -> UsageEvent:
    """One model-invocation log record (CloudWatch Logs / S3 JSON) → a `UsageEvent`.

    ``timestamp``, ``requestId``, ``modelId``, ``input.inputTokenCount`` and
    ``output.outputTokenCount`` are required (`ProviderFormatError` names the missing
    one); the cache counts appear only when caching is used and default to 0 (all
    writes are 5-minute writes: the log has no TTL split). ``modelId`` is kept as
    given, inference-profile ARNs included. ``event_id`` is ``bedrock:<requestId>`` so a
    re-imported log adds nothing. ``operation`` becomes ``endpoint``.
    """
    obj = as_object(record, "")
    ts = _timestamp(obj)
    request_id = req_str(obj, "requestId", "")
    model = req_str(obj, "modelId", "")
    inp = req_object(obj, "input", "")
    out = req_object(obj, "output", "")
    usage = Usage(
        input_tokens=_uncached_input(inp, "inputTokenCount", "input"),
        cache_read_tokens=int_or_zero(inp, "cacheReadInputTokenCount", "input"),
        cache_write_5m_tokens=int_or_zero(inp, "cacheWriteInputTokenCount", "input"),
        output_tokens=req_int(out, "outputTokenCount", "output"),
    )
    return UsageEvent(
        event_id=f"bedrock:{request_id}",
        ts=ts,
        provider="bedrock",
        model=model,
        usage=usage,
        attribution=_attribution(obj),
        request_id=request_id,
        endpoint=opt_str(obj, "operation", ""),
    )
