"""Pure pricing of one call: list cost and effective cost in integer nano-USD.

Rounding, stated once: a call's cost is computed exactly in pico-USD (integer rates ×
integer counts), then rounded half up to a whole nano-USD (1e-9 USD) per event. A
discount is applied to that rounded list cost and rounded half up again. Sums of
events are sums of these integers, so totals never drift.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime

from aifinops.pricing.catalog import BUCKETS, Catalog, RateCard, Timeline, price_context
from aifinops.pricing.rates import NegotiatedRate, RateBook
from aifinops.usage import Usage, UsageEvent

PICO_PER_NANO = 1_000


@dataclass(frozen=True, slots=True)
class Period:
    """What prices a call from ``start`` on: the list card and the effective one."""

    start: date
    list_card: RateCard
    effective_card: RateCard
    discount_bp: int
    negotiated: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything needed to price calls of one (provider, model, tier, batch) at any date."""

    model_id: str
    periods: tuple[Period, ...]
    starts: tuple[date, ...]

    def period_at(self, day: date) -> Period:
        return self.periods[bisect.bisect_right(self.starts, day) - 1]


@dataclass(frozen=True, slots=True)
class PriceResult:
    list_cost_nusd: int | None
    effective_cost_nusd: int | None
    price_version: str | None

    @property
    def unpriced(self) -> bool:
        return self.list_cost_nusd is None


def usage_vector(usage: Usage) -> tuple[int, ...]:
    """Counts in `BUCKETS` order."""
    return (
        usage.input_tokens,
        usage.cache_read_tokens,
        usage.cache_write_5m_tokens,
        usage.cache_write_1h_tokens,
        usage.output_tokens,
        usage.web_search_requests,
    )


def card_cost_pico(card: RateCard, counts: tuple[int, ...], total_input: int) -> int:
    rates = card.rates[card.segment(total_input)]
    return sum(c * r for c, r in zip(counts, rates, strict=True))


def round_pico_to_nano(pico: int) -> int:
    return (pico + PICO_PER_NANO // 2) // PICO_PER_NANO


def apply_discount(nusd: int, discount_bp: int) -> int:
    if not discount_bp:
        return nusd
    return (nusd * (10_000 - discount_bp) + 5_000) // 10_000


def _entry_at(entries: list[NegotiatedRate], day: date) -> NegotiatedRate | None:
    return next((e for e in entries if e.start <= day < e.end), None)


def build_plan(timeline: Timeline, entries: list[NegotiatedRate]) -> Plan:
    """Merge the list-price timeline with the negotiated entries' date ranges."""
    starts = set(timeline.starts)
    for entry in entries:
        starts.add(entry.start)
        if entry.end != date.max:
            starts.add(entry.end)
    ordered = sorted(starts)
    periods = []
    for start in ordered:
        list_card = timeline.card_at(start)
        found = _entry_at(entries, start)
        periods.append(
            Period(
                start=start,
                list_card=list_card,
                effective_card=found.card if found and found.card else list_card,
                discount_bp=found.discount_bp if found else 0,
                negotiated=found is not None,
            )
        )
    return Plan(model_id=timeline.model_id, periods=tuple(periods), starts=tuple(ordered))


class PricingEngine:
    """Prices calls from the catalog and the negotiated rates; caches plans, no I/O."""

    def __init__(self, catalog: Catalog | None = None, rates: RateBook | None = None) -> None:
        self.catalog = catalog or Catalog()
        self.rates = rates or RateBook()
        self._plans: dict[tuple[str, str, str | None, bool], Plan | None] = {}
        self.list_version = self.catalog.version
        self.negotiated_version = (
            f"{self.catalog.version}+rates-{self.rates.digest}" if self.rates.digest else None
        )

    def plan(self, provider: str, model: str, service_tier: str | None, batch: bool) -> Plan | None:
        key = (provider.lower(), model.lower(), (service_tier or "").lower() or None, bool(batch))
        if key not in self._plans:
            timeline = self.catalog.timeline(provider, model, price_context(service_tier, batch))
            if timeline is None:
                self._plans[key] = None
            else:
                refs = [model, timeline.model_id]
                entries = self.rates.matching(provider, refs, service_tier, bool(batch))
                self._plans[key] = build_plan(timeline, entries)
        return self._plans[key]

    def version_of(self, period: Period) -> str:
        return (
            (self.negotiated_version or self.list_version)
            if period.negotiated
            else self.list_version
        )

    def price(
        self,
        provider: str,
        model: str,
        ts: datetime | date,
        usage: Usage,
        *,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> PriceResult:
        plan = self.plan(provider, model, service_tier, batch)
        if plan is None:
            return PriceResult(None, None, None)
        day = ts.date() if isinstance(ts, datetime) else ts
        period = plan.period_at(day)
        counts = usage_vector(usage)
        total_input = usage.total_input_tokens
        list_nusd = round_pico_to_nano(card_cost_pico(period.list_card, counts, total_input))
        if period.effective_card is period.list_card:
            effective = list_nusd
        else:
            effective = round_pico_to_nano(
                card_cost_pico(period.effective_card, counts, total_input)
            )
        return PriceResult(
            list_cost_nusd=list_nusd,
            effective_cost_nusd=apply_discount(effective, period.discount_bp),
            price_version=self.version_of(period),
        )

    def price_event(self, event: UsageEvent) -> UsageEvent:
        result = self.price(
            event.provider,
            event.model,
            event.ts,
            event.usage,
            service_tier=event.service_tier,
            batch=event.batch,
        )
        return event.with_cost(
            result.list_cost_nusd, result.effective_cost_nusd, result.price_version
        )


__all__ = ["BUCKETS", "Plan", "PriceResult", "PricingEngine"]
