"""Anthropic Messages wire formats → canonical usage; attribution into Messages requests.

Anthropic's ``input_tokens`` already EXCLUDES the cache: total input is
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``, which is the
canonical split, so input maps across unchanged. Cache writes come split by TTL in
``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``; older
responses have only ``cache_creation_input_tokens``, which is then all 5-minute writes
(the only TTL there was). ``output_tokens`` is the billed total, thinking included;
``output_tokens_details.thinking_tokens`` is recorded as reasoning, a subset.

Covered: the ``usage`` object, a whole Message, the SSE stream (``message_start`` +
cumulative ``message_delta``), Message Batches result lines, and ``metadata.user_id``
injection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from aifinops.providers.base import (
    JSONObject,
    ParsedUsage,
    ProviderFormatError,
    as_object,
    check_subset,
    int_or_zero,
    join,
    opt_int,
    opt_object,
    opt_str,
    req_int,
)
from aifinops.usage import Usage

__all__ = [
    "AnthropicStreamAccumulator",
    "inject_anthropic_attribution",
    "parse_anthropic_batch_result",
    "parse_anthropic_message",
    "parse_anthropic_usage",
]

_CACHE_5M = "ephemeral_5m_input_tokens"
_CACHE_1H = "ephemeral_1h_input_tokens"


def _cache_writes(usage: JSONObject, path: str) -> tuple[int, int]:
    """(5-minute, 1-hour) cache-write tokens."""
    split = opt_object(usage, "cache_creation", path)
    if split is None:
        # Older responses: one total and no TTL split; 5 minutes was the only TTL then.
        return int_or_zero(usage, "cache_creation_input_tokens", path), 0
    split_path = join(path, "cache_creation")
    # When both the split and cache_creation_input_tokens are given and disagree, the
    # split is trusted: it is the newer, more specific field, and it alone says how
    # much of the write is billed at the 1-hour rate. The total is still validated.
    opt_int(usage, "cache_creation_input_tokens", path)
    return int_or_zero(split, _CACHE_5M, split_path), int_or_zero(split, _CACHE_1H, split_path)


def parse_anthropic_usage(usage: Mapping[str, object], *, path: str = "usage") -> Usage:
    """A Messages ``usage`` object → canonical `Usage` (``path`` names it in errors)."""
    obj = as_object(usage, path)
    output = req_int(obj, "output_tokens", path)
    write_5m, write_1h = _cache_writes(obj, path)
    details_path = join(path, "output_tokens_details")
    thinking = int_or_zero(
        opt_object(obj, "output_tokens_details", path), "thinking_tokens", details_path
    )
    # output_tokens is the billed total with thinking inside it: a subset, never added.
    check_subset(
        thinking, join(details_path, "thinking_tokens"), output, join(path, "output_tokens")
    )
    return Usage(
        input_tokens=req_int(obj, "input_tokens", path),  # excludes cache reads and writes
        cache_read_tokens=int_or_zero(obj, "cache_read_input_tokens", path),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
        reasoning_tokens=thinking,
        web_search_requests=int_or_zero(
            opt_object(obj, "server_tool_use", path),
            "web_search_requests",
            join(path, "server_tool_use"),
        ),
    )


def _message(body: JSONObject, path: str) -> ParsedUsage:
    raw_usage = opt_object(body, "usage", path)
    usage_path = join(path, "usage")
    tier = opt_str(raw_usage, "service_tier", usage_path)
    return ParsedUsage(
        usage=Usage() if raw_usage is None else parse_anthropic_usage(raw_usage, path=usage_path),
        usage_estimated=raw_usage is None,
        model=opt_str(body, "model", path),
        service_tier=tier,
        batch=tier == "batch",
        stop_reason=opt_str(body, "stop_reason", path),
        response_id=opt_str(body, "id", path),
        inference_geo=opt_str(raw_usage, "inference_geo", usage_path),
    )


def parse_anthropic_message(body: Mapping[str, object]) -> ParsedUsage:
    """A whole Messages response body → `ParsedUsage`.

    ``service_tier`` and ``inference_geo`` come from ``usage``; tier ``batch`` sets
    ``batch=True``. A body without ``usage`` gives zero usage, ``usage_estimated=True``.
    """
    return _message(as_object(body, ""), "")


# --- stream ----------------------------------------------------------------------------

# Fields a message_delta's usage may carry; each is a cumulative total that replaces
# the message_start value. Nested objects are replaced whole, as the SDK does.
_DELTA_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "server_tool_use",
    "output_tokens_details",
)


def _restate_split(merged: dict[str, object], delta_total: int) -> None:
    """Bring message_start's TTL split in line with a later cumulative write total.

    A message_delta carries ``cache_creation_input_tokens`` but no TTL split. If its
    total differs from message_start's split, the split is stale: the 1-hour part is
    kept as message_start reported it and the rest is counted as 5-minute writes (the
    default TTL). A total below the 1-hour part cannot be reconciled; the split wins.
    """
    split = merged.get("cache_creation")
    if not isinstance(split, Mapping):
        return
    one_hour = split.get(_CACHE_1H)
    five_min = split.get(_CACHE_5M)
    if not isinstance(one_hour, int) or isinstance(one_hour, bool):
        one_hour = 0
    if not isinstance(five_min, int) or isinstance(five_min, bool):
        five_min = 0
    if delta_total != one_hour + five_min and delta_total >= one_hour:
        merged["cache_creation"] = {_CACHE_5M: delta_total - one_hour, _CACHE_1H: one_hour}


class AnthropicStreamAccumulator:
    """Feed each decoded Messages SSE event; read the `ParsedUsage` at the end.

    ``message_start.message.usage`` carries the input-side counts. Each
    ``message_delta.usage`` is CUMULATIVE (``output_tokens``, and optionally input,
    cache and ``server_tool_use`` totals): the LAST delta's values replace the
    message_start values; deltas are never added. A field absent from the delta keeps
    its message_start value. ``message_delta.delta.stop_reason`` is the stop reason; an
    ``error`` event sets ``error_type``. A stream that never reported usage (no
    ``message_start``) gives zero usage with ``usage_estimated=True``.
    """

    def __init__(self) -> None:
        self._message: JSONObject | None = None
        self._start_usage: JSONObject = {}
        self._delta_usage: JSONObject = {}
        self._stop_reason: str | None = None
        self._error_type: str | None = None

    def feed(self, event: Mapping[str, object]) -> None:
        """Take one parsed event (the JSON after ``data:``); unknown types are ignored."""
        obj = event if type(event) is dict else as_object(event, "")
        kind = obj.get("type")
        if kind in ("content_block_delta", "ping"):  # a tuple: `kind` may be unhashable
            return  # most of a stream: nothing to take
        kind = opt_str(obj, "type", "")
        if kind == "message_start":
            message = as_object(obj.get("message"), "message")
            self._message = message
            self._start_usage = opt_object(message, "usage", "message") or {}
            # Validate now so a bad payload is reported at the event that carried it.
            if self._start_usage:
                parse_anthropic_usage(self._start_usage, path="message.usage")
            self._stop_reason = opt_str(message, "stop_reason", "message") or self._stop_reason
        elif kind == "error":
            error = opt_object(obj, "error", "")
            self._error_type = opt_str(error, "type", "error") or "error"
        elif kind == "message_delta":
            delta = opt_object(obj, "delta", "")
            self._stop_reason = opt_str(delta, "stop_reason", "delta") or self._stop_reason
            usage = opt_object(obj, "usage", "")
            if usage is not None:
                self._check_delta(usage)
                self._delta_usage = usage  # cumulative: the last one replaces the rest

    @staticmethod
    def _check_delta(usage: JSONObject) -> None:
        """Validate a delta's usage where it arrived, so errors name ``usage.…``."""
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ):
            opt_int(usage, key, "usage")
        for key, count in (
            ("server_tool_use", "web_search_requests"),
            ("output_tokens_details", "thinking_tokens"),
        ):
            opt_int(opt_object(usage, key, "usage"), count, join("usage", key))

    def _merged_usage(self) -> dict[str, object]:
        merged = dict(self._start_usage)
        for key in _DELTA_FIELDS:
            value = self._delta_usage.get(key)
            if value is not None:
                merged[key] = value
        delta_writes = self._delta_usage.get("cache_creation_input_tokens")
        if isinstance(delta_writes, int) and not isinstance(delta_writes, bool):
            _restate_split(merged, delta_writes)
        return merged

    def result(self) -> ParsedUsage:
        """What the stream reported so far (call after ``message_stop``)."""
        if self._message is None:
            return ParsedUsage(
                usage=Usage(),
                usage_estimated=True,
                stop_reason=self._stop_reason,
                error_type=self._error_type,
            )
        message = dict(self._message)
        message["usage"] = self._merged_usage() or None
        parsed = _message(message, "message")
        return replace(parsed, stop_reason=self._stop_reason, error_type=self._error_type)


# --- batch -----------------------------------------------------------------------------


def parse_anthropic_batch_result(line: Mapping[str, object]) -> ParsedUsage:
    """One line of a Message Batches results file → `ParsedUsage` with ``batch=True``.

    ``{"custom_id", "result": {"type": "succeeded", "message": {...}}}``. Results of
    type ``errored``, ``canceled`` or ``expired`` are not billed: zero usage, not
    estimated, ``error_type`` set (the API error type for ``errored``, else the result
    type).
    """
    obj = as_object(line, "")
    custom_id = opt_str(obj, "custom_id", "")
    result = opt_object(obj, "result", "")
    if result is None:
        raise ProviderFormatError("result", "is required (an object with a type)")
    kind = opt_str(result, "type", "result")
    if kind == "succeeded":
        message = as_object(result.get("message"), "result.message")
        parsed = _message(message, "result.message")
        return replace(parsed, batch=True, custom_id=custom_id)
    if kind in {"errored", "canceled", "expired"}:
        outer = opt_object(result, "error", "result")
        inner = opt_object(outer, "error", "result.error") if outer is not None else None
        error_type = opt_str(inner, "type", "result.error.error") or kind
        return ParsedUsage(usage=Usage(), batch=True, custom_id=custom_id, error_type=error_type)
    raise ProviderFormatError(
        "result.type",
        f"must be one of succeeded, errored, canceled, expired; got {kind!r}",
        kind,
    )


# --- attribution -----------------------------------------------------------------------


def inject_anthropic_attribution(body: Mapping[str, object], user_id: str) -> dict[str, object]:
    """A copy of a Messages request body with ``metadata.user_id`` set.

    A ``user_id`` the client set (non-empty) is never overwritten, and other metadata
    keys are kept. Neither the input nor its ``metadata`` mapping is modified.
    """
    if not user_id:
        raise ValueError("user_id: must be a non-empty string")
    out = dict(as_object(body, "body"))
    metadata = dict(opt_object(out, "metadata", "body") or {})
    if not opt_str(metadata, "user_id", "body.metadata"):
        metadata["user_id"] = user_id
    out["metadata"] = metadata
    return out
