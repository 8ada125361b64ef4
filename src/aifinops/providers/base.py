"""What every provider adapter returns, its error, and the field readers they share.

An adapter turns one provider wire object (a response body, a stream of events, a batch
result line) into a `ParsedUsage`: the canonical `Usage` split plus the few facts about
the call that the wire carries and a `UsageEvent` needs. Adapters are pure: they read
the mappings they are given (already-decoded JSON) and never do I/O.

Field readers raise `ProviderFormatError` with the dotted path of the offending field,
e.g. ``usage.prompt_tokens_details.cached_tokens: must be a non-negative integer, got
'x'``, so a rejected payload says exactly what was wrong. ``None`` (JSON ``null``) is
treated as absent, as the providers send ``null`` for fields that do not apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from aifinops.usage import RecordError, Usage

__all__ = [
    "ParsedUsage",
    "ProviderFormatError",
]

JSONObject = Mapping[str, object]


class ProviderFormatError(RecordError):
    """A provider payload is missing a field or has one of the wrong shape.

    A `ValueError` (through `RecordError`, so code that rejects bad input rows catches
    both). ``field`` is the dotted path of the offending field inside the payload given
    to the adapter, e.g. ``usage.prompt_tokens_details.cached_tokens``.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedUsage:
    """The usage-relevant facts of one provider call, as the wire reported them.

    - ``usage``: the canonical split (see `aifinops.usage`); all zero when
      ``usage_estimated`` is true.
    - ``model``: the model the provider says served the call (the billed model).
    - ``service_tier``: as the provider echoed it (``default``, ``flex``, ``priority``,
      ``standard``, ``batch`` …), not normalised.
    - ``batch``: the call was served by a batch API (half price at most providers).
    - ``stop_reason``: the provider's own word (``stop``, ``length``, ``end_turn``,
      ``max_tokens`` …), not normalised.
    - ``usage_estimated``: the provider sent no usage (an interrupted stream, a stream
      without ``include_usage``); the caller estimates, adapters never invent numbers.
    - ``response_id``: the provider's id of the response (``chatcmpl-…``, ``resp_…``,
      ``msg_…``).
    - ``request_id``: the provider's request id when the payload carries one (OpenAI
      batch output lines); HTTP headers are the caller's business.
    - ``custom_id``: the caller's id of a batch request.
    - ``inference_geo``: Anthropic's ``usage.inference_geo`` (``us`` is priced 1.1×).
    - ``status``, ``error_type``: for batch result lines that failed (such calls are not
      billed, so their usage is zero and not estimated).
    """

    usage: Usage
    model: str | None = None
    service_tier: str | None = None
    batch: bool = False
    stop_reason: str | None = None
    usage_estimated: bool = False
    response_id: str | None = None
    request_id: str | None = None
    custom_id: str | None = None
    inference_geo: str | None = None
    status: int | None = None
    error_type: str | None = None


# --- field readers (shared by the adapters; not part of the public API) -------------


def join(path: str, key: str) -> str:
    """The dotted path of ``key`` inside the object at ``path`` (``""`` is the root)."""
    return f"{path}.{key}" if path else key


def _describe(value: object) -> str:
    return "null" if value is None else repr(value)


def as_object(value: object, path: str) -> JSONObject:
    """``value`` as a JSON object, or a `ProviderFormatError` naming ``path``."""
    if not isinstance(value, Mapping):
        where = path or "payload"
        raise ProviderFormatError(where, f"must be an object, got {_describe(value)}", value)
    return cast(JSONObject, value)


def opt_object(obj: JSONObject, key: str, path: str) -> JSONObject | None:
    """``obj[key]`` as a JSON object, or None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    return as_object(value, join(path, key))


def req_object(obj: JSONObject, key: str, path: str) -> JSONObject:
    """``obj[key]`` as a JSON object; absent or null is an error."""
    value = obj.get(key)
    if value is None:
        raise ProviderFormatError(join(path, key), "is required (an object)")
    return as_object(value, join(path, key))


def opt_list(obj: JSONObject, key: str, path: str) -> Sequence[object]:
    """``obj[key]`` as a JSON array, empty when absent or null."""
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ProviderFormatError(
            join(path, key), f"must be an array, got {_describe(value)}", value
        )
    return cast(Sequence[object], value)


def _check_count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderFormatError(
            path, f"must be a non-negative integer, got {_describe(value)}", value
        )
    return value


def req_int(obj: JSONObject, key: str, path: str) -> int:
    """``obj[key]`` as a token count (a non-negative integer); absent or null is an error."""
    value = obj.get(key)
    if value is None:
        raise ProviderFormatError(join(path, key), "is required (a non-negative integer)")
    return _check_count(value, join(path, key))


def opt_int(obj: JSONObject | None, key: str, path: str) -> int | None:
    """``obj[key]`` as a token count, or None when ``obj`` or the field is absent or null."""
    if obj is None:
        return None
    value = obj.get(key)
    if value is None:
        return None
    return _check_count(value, join(path, key))


def int_or_zero(obj: JSONObject | None, key: str, path: str) -> int:
    """``obj[key]`` as a token count, 0 when absent or null."""
    value = opt_int(obj, key, path)
    return 0 if value is None else value


def opt_str(obj: JSONObject | None, key: str, path: str) -> str | None:
    """``obj[key]`` as a string, or None when absent, null or empty."""
    if obj is None:
        return None
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProviderFormatError(
            join(path, key), f"must be a string, got {_describe(value)}", value
        )
    return value or None


def req_str(obj: JSONObject, key: str, path: str) -> str:
    """``obj[key]`` as a non-empty string; absent, null or empty is an error."""
    value = opt_str(obj, key, path)
    if value is None:
        raise ProviderFormatError(join(path, key), "is required (a non-empty string)")
    return value


def check_subset(part: int, part_path: str, whole: int, whole_path: str) -> None:
    """Raise when a breakdown count (``part``) exceeds the total it belongs to."""
    if part > whole:
        raise ProviderFormatError(
            part_path,
            f"{part} exceeds {whole_path} ({whole}); it is part of that total, not extra",
            part,
        )
