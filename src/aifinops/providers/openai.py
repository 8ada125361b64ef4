"""OpenAI wire formats → canonical usage; attribution into OpenAI requests.

The trap: OpenAI's ``prompt_tokens`` (Chat Completions) and ``input_tokens`` (Responses)
INCLUDE the cached tokens and the cache-write tokens. The canonical ``input_tokens`` is
uncached input only, so it is ``prompt − cached − cache_write``. On the output side
``completion_tokens``/``output_tokens`` already include the reasoning tokens (and, for
Predicted Outputs, the rejected prediction tokens, which are billed too), so output is
taken as sent and reasoning is recorded as a subset, never added again.

Cache writes: OpenAI's usage objects report one ``cache_write_tokens`` count and no
5-minute/1-hour split like Anthropic's, so every OpenAI cache write goes to
``cache_write_5m_tokens``: the canonical slot for a provider's standard write rate,
which the price catalog falls back to ``cache_write_mtok`` for. (The Responses API may
add ``cache_write_tokens_details{ttl_30m_tokens, ttl_12h_tokens}``; its TTLs match
neither canonical bucket and no price distinguishes them yet, so it is not split.)

Covered: Chat Completions (body and SSE chunks), Responses (body and stream events),
Embeddings, Batch API output lines, and ``safety_identifier`` injection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from aifinops.providers.base import (
    JSONObject,
    ParsedUsage,
    as_object,
    check_subset,
    int_or_zero,
    join,
    opt_int,
    opt_list,
    opt_object,
    opt_str,
    req_int,
)
from aifinops.usage import Usage

__all__ = [
    "SAFETY_IDENTIFIER_MAX_CHARS",
    "OpenAIChatStreamAccumulator",
    "OpenAIResponsesStreamAccumulator",
    "inject_openai_attribution",
    "parse_openai_batch_output_line",
    "parse_openai_chat_completion",
    "parse_openai_chat_usage",
    "parse_openai_embeddings_response",
    "parse_openai_embeddings_usage",
    "parse_openai_response",
    "parse_openai_responses_usage",
]

SAFETY_IDENTIFIER_MAX_CHARS = 64
_HASH_PREFIX = "sha256:"


# --- usage objects ---------------------------------------------------------------------


def _split_input(
    total: int,
    total_path: str,
    details: JSONObject | None,
    details_path: str,
) -> tuple[int, int, int]:
    """(uncached, cache read, cache write) from an input total that includes the cache."""
    cached = int_or_zero(details, "cached_tokens", details_path)
    cache_write = int_or_zero(details, "cache_write_tokens", details_path)
    check_subset(cached, join(details_path, "cached_tokens"), total, total_path)
    check_subset(
        cache_write,
        join(details_path, "cache_write_tokens"),
        total - cached,
        f"{total_path} minus cached_tokens",
    )
    return total - cached - cache_write, cached, cache_write


def _usage(
    usage: JSONObject,
    path: str,
    *,
    input_key: str,
    input_details_key: str,
    output_key: str,
    output_details_key: str,
) -> Usage:
    prompt = req_int(usage, input_key, path)
    output = req_int(usage, output_key, path)
    input_details_path = join(path, input_details_key)
    uncached, cache_read, cache_write = _split_input(
        prompt,
        join(path, input_key),
        opt_object(usage, input_details_key, path),
        input_details_path,
    )
    output_details_path = join(path, output_details_key)
    reasoning = int_or_zero(
        opt_object(usage, output_details_key, path), "reasoning_tokens", output_details_path
    )
    # Reasoning is inside the output total (billed as output): a subset, never added.
    check_subset(
        reasoning, join(output_details_path, "reasoning_tokens"), output, join(path, output_key)
    )
    return Usage(
        input_tokens=uncached,
        cache_read_tokens=cache_read,
        # No TTL in OpenAI usage: all writes are "standard" writes (see module docstring).
        cache_write_5m_tokens=cache_write,
        output_tokens=output,
        reasoning_tokens=reasoning,
    )


def parse_openai_chat_usage(usage: Mapping[str, object], *, path: str = "usage") -> Usage:
    """A Chat Completions ``usage`` object (CompletionUsage) → canonical `Usage`.

    ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens`` and
    ``cache_write_tokens``, which are taken out of ``input_tokens``; ``completion_tokens``
    is the billed output, reasoning and rejected prediction tokens included.
    ``path`` names the object in error messages.
    """
    obj = as_object(usage, path)
    return _usage(
        obj,
        path,
        input_key="prompt_tokens",
        input_details_key="prompt_tokens_details",
        output_key="completion_tokens",
        output_details_key="completion_tokens_details",
    )


def parse_openai_responses_usage(usage: Mapping[str, object], *, path: str = "usage") -> Usage:
    """A Responses API ``usage`` object → canonical `Usage`.

    ``input_tokens`` includes ``input_tokens_details.cached_tokens`` (and
    ``cache_write_tokens``); ``output_tokens`` includes
    ``output_tokens_details.reasoning_tokens``.
    """
    obj = as_object(usage, path)
    return _usage(
        obj,
        path,
        input_key="input_tokens",
        input_details_key="input_tokens_details",
        output_key="output_tokens",
        output_details_key="output_tokens_details",
    )


def parse_openai_embeddings_usage(usage: Mapping[str, object], *, path: str = "usage") -> Usage:
    """An Embeddings ``usage`` object (``prompt_tokens``, ``total_tokens``) → `Usage`.

    Embeddings bill input only; there is no caching and no output.
    """
    obj = as_object(usage, path)
    prompt = req_int(obj, "prompt_tokens", path)
    total = opt_int(obj, "total_tokens", path)
    if total is not None:
        check_subset(prompt, join(path, "prompt_tokens"), total, join(path, "total_tokens"))
    return Usage(input_tokens=prompt)


# --- whole bodies ----------------------------------------------------------------------


def _first_finish_reason(body: JSONObject, path: str) -> str | None:
    choices = opt_list(body, "choices", path)
    if not choices:
        return None
    first_path = join(path, "choices") + "[0]"
    return opt_str(as_object(choices[0], first_path), "finish_reason", first_path)


class _UsageParser(Protocol):
    def __call__(self, usage: Mapping[str, object], *, path: str = ...) -> Usage: ...


def _usage_or_estimated(body: JSONObject, path: str, parse: _UsageParser) -> tuple[Usage, bool]:
    """The body's usage, or zero usage flagged as estimated when the body has none."""
    raw = opt_object(body, "usage", path)
    if raw is None:
        return Usage(), True
    return parse(raw, path=join(path, "usage")), False


def _chat_completion(body: JSONObject, path: str) -> ParsedUsage:
    usage, estimated = _usage_or_estimated(body, path, parse_openai_chat_usage)
    return ParsedUsage(
        usage=usage,
        usage_estimated=estimated,
        model=opt_str(body, "model", path),
        service_tier=opt_str(body, "service_tier", path),
        stop_reason=_first_finish_reason(body, path),
        response_id=opt_str(body, "id", path),
    )


def parse_openai_chat_completion(body: Mapping[str, object]) -> ParsedUsage:
    """A whole Chat Completions response body → `ParsedUsage`.

    Model and ``service_tier`` come from the body, ``stop_reason`` is the first choice's
    ``finish_reason``. A body without ``usage`` gives zero usage with
    ``usage_estimated=True``.
    """
    return _chat_completion(as_object(body, ""), "")


def _response_stop_reason(body: JSONObject, path: str) -> str | None:
    """Responses have no finish_reason: the incomplete reason, else the status."""
    details = opt_object(body, "incomplete_details", path)
    reason = opt_str(details, "reason", join(path, "incomplete_details"))
    return reason or opt_str(body, "status", path)


def _response(body: JSONObject, path: str) -> ParsedUsage:
    usage, estimated = _usage_or_estimated(body, path, parse_openai_responses_usage)
    return ParsedUsage(
        usage=usage,
        usage_estimated=estimated,
        model=opt_str(body, "model", path),
        service_tier=opt_str(body, "service_tier", path),
        stop_reason=_response_stop_reason(body, path),
        response_id=opt_str(body, "id", path),
    )


def parse_openai_response(body: Mapping[str, object]) -> ParsedUsage:
    """A whole Responses API response object → `ParsedUsage`.

    ``stop_reason`` is ``incomplete_details.reason`` (e.g. ``max_output_tokens``) when
    the response is incomplete, else its ``status`` (``completed``, ``failed`` …).
    """
    return _response(as_object(body, ""), "")


def _embeddings_response(body: JSONObject, path: str) -> ParsedUsage:
    usage, estimated = _usage_or_estimated(body, path, parse_openai_embeddings_usage)
    return ParsedUsage(
        usage=usage,
        usage_estimated=estimated,
        model=opt_str(body, "model", path),
    )


def parse_openai_embeddings_response(body: Mapping[str, object]) -> ParsedUsage:
    """A whole Embeddings response body → `ParsedUsage` (input tokens only)."""
    return _embeddings_response(as_object(body, ""), "")


# --- streams ---------------------------------------------------------------------------


def _chunk_str(obj: JSONObject, key: str) -> str | None:
    """`opt_str` of a stream chunk's top-level ``key``, a plain string read inline."""
    value = obj.get(key)
    if type(value) is str:
        return value or None
    return opt_str(obj, key, "")


class OpenAIChatStreamAccumulator:
    """Feed each decoded Chat Completions SSE chunk; read the `ParsedUsage` at the end.

    Usage arrives only when the request set ``stream_options.include_usage``: one last
    chunk with ``choices: []`` and the full ``usage`` (every other chunk has
    ``usage: null``). If the stream ends without it (option off, stream interrupted),
    `result` reports zero usage with ``usage_estimated=True``: the caller estimates.
    If several chunks carry usage (some compatible servers send running totals), the
    last one wins; they are never added.
    """

    def __init__(self) -> None:
        self._usage: Usage | None = None
        self._model: str | None = None
        self._service_tier: str | None = None
        self._response_id: str | None = None
        self._finish_reason: str | None = None

    def feed(self, chunk: Mapping[str, object]) -> None:
        """Take one parsed ``chat.completion.chunk`` (the JSON after ``data:``)."""
        # Every chunk of a stream passes here: the well-formed case is checked inline,
        # anything else goes through the helpers, which raise the same errors as ever.
        obj = chunk if type(chunk) is dict else as_object(chunk, "")
        model, tier, response_id = obj.get("model"), obj.get("service_tier"), obj.get("id")
        if type(model) is not str or type(tier) is not str or type(response_id) is not str:
            model = _chunk_str(obj, "model")
            tier = _chunk_str(obj, "service_tier")
            response_id = _chunk_str(obj, "id")
        self._model = model or self._model
        self._service_tier = tier or self._service_tier
        self._response_id = response_id or self._response_id
        choices = obj.get("choices")
        for i, raw_choice in enumerate(
            choices if type(choices) is list else opt_list(obj, "choices", "")
        ):
            if type(raw_choice) is dict:
                index = raw_choice.get("index")
                reason = raw_choice.get("finish_reason")
                if type(index) is int and index >= 0 and (reason is None or type(reason) is str):
                    if index == 0 and reason:
                        self._finish_reason = reason
                    continue
            choice_path = f"choices[{i}]"
            choice = as_object(raw_choice, choice_path)
            index = opt_int(choice, "index", choice_path) or 0
            reason = opt_str(choice, "finish_reason", choice_path)
            if index == 0 and reason is not None:
                self._finish_reason = reason
        if obj.get("usage") is not None:
            raw_usage = opt_object(obj, "usage", "")
            if raw_usage is not None:
                self._usage = parse_openai_chat_usage(raw_usage)

    def result(self) -> ParsedUsage:
        """What the stream reported so far (call after the last chunk)."""
        return ParsedUsage(
            usage=self._usage or Usage(),
            usage_estimated=self._usage is None,
            model=self._model,
            service_tier=self._service_tier,
            stop_reason=self._finish_reason,
            response_id=self._response_id,
        )


# Responses stream events that carry the whole response object; the terminal ones
# carry its usage too.
_TERMINAL_RESPONSE_EVENTS = frozenset(
    {"response.completed", "response.incomplete", "response.failed"}
)
_RESPONSE_EVENTS_WITH_BODY = _TERMINAL_RESPONSE_EVENTS | {
    "response.created",
    "response.queued",
    "response.in_progress",
}


class OpenAIResponsesStreamAccumulator:
    """Feed each decoded Responses API stream event; read the `ParsedUsage` at the end.

    Usage arrives in ``response.completed`` as ``response.usage`` (also in
    ``response.incomplete`` and ``response.failed``, which are billed alike). Earlier
    events give model and tier; other event types are ignored. No terminal event means
    ``usage_estimated=True`` and zero usage.
    """

    def __init__(self) -> None:
        self._parsed: ParsedUsage | None = None

    def feed(self, event: Mapping[str, object]) -> None:
        """Take one parsed stream event (``{"type": "response.…", …}``)."""
        obj = event if type(event) is dict else as_object(event, "")
        kind = obj.get("type")
        if type(kind) is not str:
            kind = opt_str(obj, "type", "")  # absent or null, else the error
        if kind not in _RESPONSE_EVENTS_WITH_BODY:
            return
        body = opt_object(obj, "response", "")
        if body is None:
            return
        parsed = _response(body, "response")
        if kind not in _TERMINAL_RESPONSE_EVENTS:
            parsed = replace(parsed, stop_reason=None)  # "in_progress" is no stop reason
        previous = self._parsed
        if parsed.usage_estimated and previous is not None and not previous.usage_estimated:
            return  # never let a later usage-less snapshot hide reported usage
        if previous is not None:
            parsed = replace(
                parsed,
                model=parsed.model or previous.model,
                service_tier=parsed.service_tier or previous.service_tier,
                response_id=parsed.response_id or previous.response_id,
            )
        self._parsed = parsed

    def result(self) -> ParsedUsage:
        """What the stream reported so far (call after the last event)."""
        if self._parsed is None:
            return ParsedUsage(usage=Usage(), usage_estimated=True)
        return self._parsed


# --- batch -----------------------------------------------------------------------------


def _batch_body(body: JSONObject, path: str) -> ParsedUsage:
    """Pick the parser by the body's ``object``, else by the shape of its usage."""
    kind = opt_str(body, "object", path)
    if kind == "chat.completion":
        return _chat_completion(body, path)
    if kind == "response":
        return _response(body, path)
    if kind == "list":
        return _embeddings_response(body, path)
    usage = opt_object(body, "usage", path)
    if usage is not None and "input_tokens" in usage:
        return _response(body, path)
    if usage is not None and "completion_tokens" not in usage and "prompt_tokens" in usage:
        return _embeddings_response(body, path)
    return _chat_completion(body, path)


def _error_type(error: JSONObject | None, path: str) -> str:
    return opt_str(error, "type", path) or opt_str(error, "code", path) or "error"


def parse_openai_batch_output_line(line: Mapping[str, object]) -> ParsedUsage:
    """One line of a Batch API output file → `ParsedUsage` with ``batch=True``.

    A line is ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
    "error"}``; the body is a Chat Completions, Responses or Embeddings response.
    A failed request (``response: null`` with ``error``, or a non-2xx ``status_code``)
    is not billed: zero usage, not estimated, with ``error_type`` and ``status`` set.
    """
    obj = as_object(line, "")
    custom_id = opt_str(obj, "custom_id", "")
    response = opt_object(obj, "response", "")
    if response is None:
        return ParsedUsage(
            usage=Usage(),
            batch=True,
            custom_id=custom_id,
            error_type=_error_type(opt_object(obj, "error", ""), "error"),
        )
    status = opt_int(response, "status_code", "response")
    request_id = opt_str(response, "request_id", "response")
    body = opt_object(response, "body", "response") or {}
    body_path = "response.body"
    if status is not None and not 200 <= status < 300:
        error = opt_object(body, "error", body_path)
        return ParsedUsage(
            usage=Usage(),
            batch=True,
            custom_id=custom_id,
            request_id=request_id,
            status=status,
            error_type=_error_type(error, join(body_path, "error")),
        )
    parsed = _batch_body(body, body_path)
    return replace(parsed, batch=True, custom_id=custom_id, request_id=request_id, status=status)


# --- attribution -----------------------------------------------------------------------


def _fit_safety_identifier(value: str) -> str:
    """Values over 64 characters become ``sha256:`` + the first 57 hex digits of their
    SHA-256 (64 characters in all): stable, so one end user keeps one identifier, and
    marked, so a reader can tell a hashed value from one sent as is."""
    if len(value) <= SAFETY_IDENTIFIER_MAX_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return _HASH_PREFIX + digest[: SAFETY_IDENTIFIER_MAX_CHARS - len(_HASH_PREFIX)]


def inject_openai_attribution(
    body: Mapping[str, object], safety_identifier: str
) -> dict[str, object]:
    """A copy of an OpenAI request body with ``safety_identifier`` set.

    OpenAI caps ``safety_identifier`` at 64 characters; longer values are hashed (see
    `_fit_safety_identifier`). A value the client set (non-empty) is never overwritten;
    the input mapping is never modified.
    """
    if not safety_identifier:
        raise ValueError("safety_identifier: must be a non-empty string")
    out = dict(as_object(body, "body"))
    if opt_str(out, "safety_identifier", "body"):
        return out
    out["safety_identifier"] = _fit_safety_identifier(safety_identifier)
    return out
