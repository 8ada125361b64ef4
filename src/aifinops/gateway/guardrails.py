"""The guardrails at the gateway: per-feature policies applied to a parsed request body.

A feature without a policy costs one dictionary lookup. With one, the body is changed
(and later re-serialised) only when a guardrail acts; what acted is recorded in the
event's ``guardrails``. See `aifinops.optimize.guardrails` for exactly what changes in
each wire format.

"Stable" system prompt: the caching guardrail marks a system prompt only once the same
one (by its SHA-256, already computed for the shape signals) was seen by this process
within the cache lifetime, so a one-off prompt never pays a cache write it cannot read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from aifinops.gateway.shape import Shape
from aifinops.optimize.guardrails import (
    ANY_FEATURE,
    Guarded,
    GuardrailPolicy,
    cacheable_system,
    cap_field,
    chunk_limit,
    mark_system,
    needs_cap,
)

_UNCHANGED = Guarded()
_GUARDED_KINDS = frozenset({"chat", "responses", "messages"})
CACHE_LIFETIME_S = 300.0
_SEEN_MAX = 50_000


class SeenSystems:
    """System-prompt hashes seen recently (bounded; cleared when full)."""

    def __init__(self, lifetime_s: float = CACHE_LIFETIME_S, size: int = _SEEN_MAX) -> None:
        self.lifetime_s = lifetime_s
        self.size = size
        self._last: dict[str, float] = {}

    def repeated(self, digest: str, now: float) -> bool:
        """Whether ``digest`` was seen within the lifetime; records this sighting."""
        last = self._last.get(digest)
        if last is None and len(self._last) >= self.size:
            self._last.clear()
        self._last[digest] = now
        return last is not None and now - last <= self.lifetime_s


class Guardrails:
    def __init__(self, policies: Iterable[GuardrailPolicy]) -> None:
        self.by_feature = {p.feature: p for p in policies}
        self.default = self.by_feature.pop(ANY_FEATURE, None)
        self.seen = SeenSystems()

    def __bool__(self) -> bool:
        return bool(self.by_feature) or self.default is not None

    def policy(self, feature: str | None) -> GuardrailPolicy | None:
        found = self.by_feature.get(feature) if feature is not None else None
        return found or self.default

    def apply(
        self, kind: str, model: str, feature: str | None, body: dict[str, Any], shape: Shape
    ) -> Guarded:
        policy = self.policy(feature)
        if policy is None or kind not in _GUARDED_KINDS:
            return _UNCHANGED
        warning, refusal = chunk_limit(policy, shape.context_chunks)
        if refusal is not None:
            return Guarded(refusal=refusal)
        changes: dict[str, Any] = {}
        applied: list[str] = []
        if policy.max_tokens is not None and needs_cap(kind, body):
            changes[cap_field(kind)] = policy.max_tokens
            applied.append(f"max_tokens:{policy.max_tokens}")
        if (
            kind == "messages"
            and shape.system_hash is not None
            and cacheable_system(policy, body, model, shape.system_tokens)
            and self.seen.repeated(shape.system_hash, time.monotonic())
        ):
            changes["system"] = mark_system(body["system"])
            applied.append("cache_control:system")
        if warning is not None:
            chunks, _, limit = warning.removeprefix("context_chunks ").partition(" > ")
            applied.append(f"context_chunks_warn:{chunks}>{limit}")
        if not applied:
            return _UNCHANGED
        return Guarded(
            body={**body, **changes} if changes else None, applied=tuple(applied), warning=warning
        )
