"""Pricing of summed token counts at report time, through the pricing engine's plans.

A rollup row holds the tokens of many calls. Pricing the sum as one call would put it
in a long-context tier it never reached, so the tier (segment) is chosen by the mean
total input per call, and every bucket is priced at that tier's integer rates. The
result is effective cost (negotiated rates and discounts applied) in nano-USD, rounded
once, half up. Prices are those in force on ``day``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from aifinops.pricing import PricingEngine
from aifinops.pricing.engine import apply_discount, card_cost_pico, round_pico_to_nano


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts in the engine's bucket order (no web searches)."""

    input: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0

    def vector(self) -> tuple[int, ...]:
        return (
            self.input,
            self.cache_read,
            self.cache_write_5m,
            self.cache_write_1h,
            self.output,
            0,
        )

    @property
    def total_input(self) -> int:
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h


@dataclass(frozen=True, slots=True)
class Target:
    """What is priced: a model in one price context."""

    provider: str
    model: str
    service_tier: str | None
    batch: bool


class Pricer:
    def __init__(self, engine: PricingEngine, day: date) -> None:
        self.engine = engine
        self.day = day

    def known(self, target: Target) -> bool:
        return (
            self.engine.plan(target.provider, target.model, target.service_tier, target.batch)
            is not None
        )

    def cost(self, target: Target, tokens: Tokens, per_call_input: int) -> int | None:
        """Effective nano-USD of ``tokens`` at the tier of ``per_call_input`` tokens of
        input per call; None when the model has no price."""
        plan = self.engine.plan(target.provider, target.model, target.service_tier, target.batch)
        if plan is None:
            return None
        period = plan.period_at(self.day)
        counts = tokens.vector()
        return apply_discount(
            round_pico_to_nano(card_cost_pico(period.effective_card, counts, per_call_input)),
            period.discount_bp,
        )

    def list_input_usd_per_mtok(self, target: Target) -> Decimal | None:
        """The list price of a million uncached input tokens (the first tier) on ``day``;
        None when the model has no price."""
        plan = self.engine.plan(target.provider, target.model, target.service_tier, target.batch)
        if plan is None:
            return None
        pico = card_cost_pico(plan.period_at(self.day).list_card, Tokens(1_000_000).vector(), 1)
        return Decimal(pico) / 10**12
