"""Guard hooks: what may stop or change a call before it is forwarded.

Budgets, limits, routing and max_tokens policies plug in here later. A guard sees the
request's provider, endpoint, model and attribution and either lets it pass (possibly
naming the guardrails it applied) or refuses it with a `Rejection` (e.g. a budget 429).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aifinops.usage import Attribution


@dataclass(frozen=True, slots=True)
class GuardRequest:
    provider: str
    endpoint: str
    model: str
    attribution: Attribution
    stream: bool


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """Let the call pass; ``guardrails`` names what a guard changed (recorded)."""

    guardrails: tuple[str, ...] = ()


class Guard(Protocol):
    async def check(self, request: GuardRequest) -> GuardDecision:
        """Raise `aifinops.gateway.errors.Rejection` to refuse the call."""
        ...


class AllowAll:
    """The default guard: no budgets, no limits."""

    async def check(self, request: GuardRequest) -> GuardDecision:
        return GuardDecision()
