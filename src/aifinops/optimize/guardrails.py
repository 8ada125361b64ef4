"""Guardrail policies per feature (the config's ``guardrails:`` section), and the pure
change each one makes to a request body.

Off by default: a feature without an entry (and no ``feature: "*"`` entry) is never
touched. An entry::

    guardrails:
      - feature: ticket-triage        # or "*": every feature without an entry of its own
        max_tokens: 1024              # output cap injected when the client sent none
        cache_system_prompt: true     # Anthropic: cache_control on a long, repeated system
        cache_min_tokens: 2048        # optional: override the model's minimum cacheable length
        max_context_chunks: 20        # documents / tool results allowed in one request
        context_chunks_action: warn   # warn (default) or refuse

What each one changes, per wire format (nothing else in the body moves):

- ``max_tokens`` — OpenAI chat: ``max_completion_tokens`` is added when neither it nor
  the legacy ``max_tokens`` is present; Responses: ``max_output_tokens``; Anthropic
  Messages: ``max_tokens`` (the API requires it, so only a raw HTTP client can omit
  it, and would otherwise get a 400). Recorded as ``max_tokens:<n>``.
- ``cache_system_prompt`` — Anthropic Messages only: when the system prompt is at least
  the model's minimum cacheable length (`aifinops.providers.cache_rules`; 4 bytes of
  UTF-8 a token), the same system prompt was already seen within the cache lifetime (5
  minutes) and the request carries no ``cache_control`` anywhere, a string ``system``
  becomes ``[{"type": "text", "text": …, "cache_control": {"type": "ephemeral"}}]`` and
  a block list gets ``cache_control`` on its last block. Recorded as
  ``cache_control:system``. OpenAI caches prefixes automatically: nothing to change.
- ``max_context_chunks`` — counts documents and tool results as the shape signals do
  (`aifinops.gateway.shape`); above the limit, ``refuse`` answers 400 in the provider's
  error shape (kept in the rejections table) and ``warn`` forwards the call unchanged
  with an ``x-aifinops-guardrail-warning`` response header, recorded as
  ``context_chunks_warn:<count>><limit>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aifinops.providers.cache_rules import anthropic_min_cacheable_tokens

CHUNK_ACTIONS: tuple[str, ...] = ("warn", "refuse")
ANY_FEATURE = "*"
_KEYS = (
    "feature",
    "max_tokens",
    "cache_system_prompt",
    "cache_min_tokens",
    "max_context_chunks",
    "context_chunks_action",
)


class GuardrailConfigError(ValueError):
    """A bad ``guardrails`` entry; ``field`` names it (``guardrails[1].max_tokens``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class GuardrailPolicy:
    feature: str
    max_tokens: int | None = None
    cache_system_prompt: bool = False
    cache_min_tokens: int | None = None
    max_context_chunks: int | None = None
    context_chunks_action: str = "warn"
    where: str = "guardrails"  # the config path, named in refusals


@dataclass(frozen=True, slots=True)
class Guarded:
    """What the guardrails did: ``body`` is the changed body (None: unchanged)."""

    body: dict[str, Any] | None = None
    applied: tuple[str, ...] = ()
    warning: str | None = None
    refusal: str | None = None  # the 400 message when a limit refuses the call


def _positive_int(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GuardrailConfigError(f"{where}.{key}", f"must be a whole number ≥ 1, got {value!r}")
    return value


def _entry(raw: object, where: str) -> GuardrailPolicy:
    if not isinstance(raw, Mapping):
        raise GuardrailConfigError(where, "must be a mapping with feature: and a guardrail")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise GuardrailConfigError(
            f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(_KEYS)}"
        )
    feature = raw.get("feature")
    if not isinstance(feature, str) or not feature.strip():
        raise GuardrailConfigError(
            f"{where}.feature", 'is required: a feature name, or "*" for every feature'
        )
    cache = raw.get("cache_system_prompt", False)
    if not isinstance(cache, bool):
        raise GuardrailConfigError(
            f"{where}.cache_system_prompt", f"must be true or false, got {cache!r}"
        )
    action = raw.get("context_chunks_action", "warn")
    if action not in CHUNK_ACTIONS:
        raise GuardrailConfigError(
            f"{where}.context_chunks_action", f"{action!r} is not one of warn, refuse"
        )
    policy = GuardrailPolicy(
        feature=feature.strip(),
        max_tokens=_positive_int(raw, "max_tokens", where),
        cache_system_prompt=cache,
        cache_min_tokens=_positive_int(raw, "cache_min_tokens", where),
        max_context_chunks=_positive_int(raw, "max_context_chunks", where),
        context_chunks_action=str(action),
        where=where,
    )
    if (
        policy.max_tokens is None
        and not policy.cache_system_prompt
        and policy.max_context_chunks is None
    ):
        raise GuardrailConfigError(
            where,
            "sets no guardrail; give max_tokens, cache_system_prompt: true or max_context_chunks",
        )
    return policy


def parse_guardrails(section: object) -> tuple[GuardrailPolicy, ...]:
    """The ``guardrails:`` section (a list, or absent) → one policy per feature."""
    if section is None:
        return ()
    if not isinstance(section, list):
        raise GuardrailConfigError("guardrails", "must be a list of per-feature entries")
    out: list[GuardrailPolicy] = []
    for i, raw in enumerate(section):
        policy = _entry(raw, f"guardrails[{i}]")
        if any(p.feature == policy.feature for p in out):
            raise GuardrailConfigError(
                f"guardrails[{i}].feature", f"{policy.feature!r} has two entries; merge them"
            )
        out.append(policy)
    return tuple(out)


# --- the pure changes ----------------------------------------------------------------

#: The output-cap field of each route kind (OpenAI chat also accepts legacy max_tokens).
_CAP_FIELD = {"chat": "max_completion_tokens", "responses": "max_output_tokens"}


def cap_field(kind: str) -> str:
    return _CAP_FIELD.get(kind, "max_tokens")


def needs_cap(kind: str, body: Mapping[str, Any]) -> bool:
    """The client sent no output cap (OpenAI chat: neither field)."""
    if kind == "chat":
        return body.get("max_completion_tokens") is None and body.get("max_tokens") is None
    return body.get(cap_field(kind)) is None


def _marked(blocks: object) -> bool:
    return isinstance(blocks, list) and any(
        isinstance(b, Mapping) and b.get("cache_control") for b in blocks
    )


def _has_cache_control(body: Mapping[str, Any]) -> bool:
    if body.get("cache_control") or _marked(body.get("tools")) or _marked(body.get("system")):
        return True
    messages = body.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, Mapping) and _marked(m.get("content")) for m in messages
    )


def cacheable_system(
    policy: GuardrailPolicy, body: Mapping[str, Any], model: str, system_tokens: int | None
) -> bool:
    """The system prompt is long enough to cache and nothing in the request is marked."""
    if not policy.cache_system_prompt or not system_tokens:
        return False
    minimum = policy.cache_min_tokens or anthropic_min_cacheable_tokens(model)
    system = body.get("system")
    if isinstance(system, list):
        if not system or not isinstance(system[-1], Mapping):
            return False
    elif not isinstance(system, str):
        return False
    return system_tokens >= minimum and not _has_cache_control(body)


def mark_system(system: object) -> list[Any]:
    """``system`` with ``cache_control`` (ephemeral) on its last block."""
    mark = {"type": "ephemeral"}
    if isinstance(system, str):
        return [{"type": "text", "text": system, "cache_control": mark}]
    blocks = list(system) if isinstance(system, list) else []
    blocks[-1] = {**blocks[-1], "cache_control": mark}
    return blocks


def chunk_limit(policy: GuardrailPolicy, chunks: int | None) -> tuple[str | None, str | None]:
    """(warning, refusal message) for a request with ``chunks`` context chunks."""
    limit = policy.max_context_chunks
    if limit is None or chunks is None or chunks <= limit:
        return None, None
    what = f"{chunks} context chunks (documents and tool results) exceed the limit of {limit}"
    if policy.context_chunks_action == "refuse":
        return None, (
            f"{what} set for feature {policy.feature!r} ({policy.where}.max_context_chunks); "
            "send fewer, or raise the limit"
        )
    return f"context_chunks {chunks} > {limit}", None
