"""Guard hooks: what may stop or change a call before it is forwarded.

A guard sees the request's provider, endpoint, model, attribution, size and max_tokens
and either lets it pass — possibly switching the model (a budget's ``downgrade``) and
naming the guardrails it applied — or refuses it with a `Rejection` (e.g. a budget
429). What it reserves at admission is settled to the call's actual cost when the call
ends (`Guard.settle`) or released if the call never reached the provider
(`Guard.release`): exactly one of the two, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aifinops.pricing import PriceResult
from aifinops.usage import Attribution


@dataclass(frozen=True, slots=True)
class GuardRequest:
    provider: str
    endpoint: str
    model: str
    attribution: Attribution
    stream: bool
    request_bytes: int = 0
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """Let the call pass; ``guardrails`` names what a guard changed (recorded).

    ``model`` replaces the requested model (recorded with ``route_reason``); ``ticket``
    is the guard's own record of what it reserved, handed back at settle or release.
    """

    guardrails: tuple[str, ...] = ()
    model: str | None = None
    route_reason: str | None = None
    ticket: Any = None


class Guard(Protocol):
    async def check(self, request: GuardRequest) -> GuardDecision:
        """Raise `aifinops.gateway.errors.Rejection` to refuse the call."""
        ...

    async def settle(self, decision: GuardDecision, price: PriceResult, tokens: int) -> None:
        """The call ended: count its actual cost and tokens."""
        ...

    async def release(self, decision: GuardDecision) -> None:
        """The call never reached the provider: give back what was reserved."""
        ...


class AllowAll:
    """The default guard: no budgets, no limits."""

    async def check(self, request: GuardRequest) -> GuardDecision:
        return GuardDecision()

    async def settle(self, decision: GuardDecision, price: PriceResult, tokens: int) -> None:
        return None

    async def release(self, decision: GuardDecision) -> None:
        return None
