"""List-price catalog compiled from the pinned `genai-prices` data.

The catalog resolves a (provider, model reference, price context) once into a
`Timeline`: the dates on which that model's list price changes, and for each period a
`RateCard` of integer pico-USD rates per billed unit for the canonical usage buckets.
Pricing an event is then integer arithmetic on the card (see `engine.py`, `bulk.py`).

How the genai-prices data maps onto the canonical split (mirroring its own rules, in
which a usage kind with no price of its own is billed at its nearest priced parent):

======================  ===================================================
bucket                  price key used (first one the model has)
======================  ===================================================
input (uncached)        ``input_mtok``
cache_read              ``cache_read_mtok`` → ``input_mtok``
cache_write_5m          ``cache_write_5m_mtok`` → ``cache_write_mtok`` → ``input_mtok``
cache_write_1h          ``cache_write_1h_mtok`` → ``cache_write_mtok`` → ``input_mtok``
output                  ``output_mtok`` (reasoning tokens are inside output)
web_search              ``web_searches_kcount`` (per 1,000 requests)
======================  ===================================================

Long-context tiers bill the *whole* request at the tier's rates once the total input
(uncached + cache reads + cache writes) exceeds the tier's start.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_prices import data_snapshot, types

BUCKETS: tuple[str, ...] = (
    "input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "web_search",
)
N_BUCKETS = len(BUCKETS)

#: Rates are integer pico-USD (1e-12 USD) per billed unit: exact for every price in the
#: data (at most six decimals of USD per million tokens).
PICO_PER_USD = 10**12

#: genai-prices calls Bedrock "aws".
GENAI_PROVIDER: Mapping[str, str] = {"anthropic": "anthropic", "openai": "openai", "bedrock": "aws"}

_FALLBACKS: tuple[tuple[str, ...], ...] = (
    ("input_mtok",),
    ("cache_read_mtok", "input_mtok"),
    ("cache_write_5m_mtok", "cache_write_mtok", "input_mtok"),
    ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok"),
    ("output_mtok",),
    ("web_searches_kcount",),
)
_PER: Mapping[str, int] = {"web_searches_kcount": 1_000}
_TEXT_KEYS = frozenset(k for keys in _FALLBACKS for k in keys)
# Price keys that never apply to the canonical text usage (audio, image, storage, ...):
# the canonical record has no counts for them, so they contribute nothing.
_IGNORED_PREFIXES = (
    "input_audio",
    "output_audio",
    "cache_audio",
    "input_image",
    "output_image",
    "cache_image",
    "audio_",
    "input_audio_hours",
    "storage_searches",
    "input_mchars",
)

PriceContext = tuple[tuple[str, str], ...]


class CatalogError(ValueError):
    """The price data holds something this engine cannot price exactly."""


@dataclass(frozen=True, slots=True)
class RateCard:
    """One model's list rates for one period and one price context.

    ``thresholds`` are ascending total-input token counts; segment ``i`` applies when
    the total input exceeds ``i`` of them. ``rates[segment][bucket]`` is pico-USD per unit.
    """

    thresholds: tuple[int, ...]
    rates: tuple[tuple[int, ...], ...]

    def segment(self, total_input_tokens: int) -> int:
        return sum(1 for t in self.thresholds if total_input_tokens > t)


@dataclass(frozen=True, slots=True)
class Timeline:
    """A model's rate cards over time: ``cards[i]`` is in force from ``starts[i]``.

    ``starts[0]`` is ``date.min``: the first card covers every earlier date.
    """

    provider: str
    model_id: str
    starts: tuple[date, ...]
    cards: tuple[RateCard, ...]

    def card_at(self, day: date) -> RateCard:
        return self.cards[bisect.bisect_right(self.starts, day) - 1]


def price_context(service_tier: str | None, batch: bool) -> PriceContext:
    """The genai-prices request context of a call: its service tier and batch processing."""
    items: list[tuple[str, str]] = []
    tier = (service_tier or "").strip().lower()
    if tier == "batch":
        batch = True
    elif tier:
        items.append(("service_tier", tier))
    if batch:
        items.append(("processing", "batch"))
    return tuple(sorted(items))


def _decimal_to_pico(value: Decimal, per: int, where: str) -> int:
    scaled = value * PICO_PER_USD / per
    if scaled != scaled.to_integral_value():
        raise CatalogError(f"{where}: price {value} is not a whole number of pico-USD per unit")
    return int(scaled)


def _applicable(price: Decimal | types.TieredPrices, threshold: int | None) -> Decimal:
    """The price of a (possibly tiered) key when total input exceeds ``threshold``."""
    if isinstance(price, Decimal):
        return price
    chosen = price.base
    if threshold is not None:
        for tier in price.tiers:
            if tier.start <= threshold:
                chosen = tier.price
    return chosen


def _check_keys(model_price: types.ModelPrice, where: str) -> None:
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_") or key in _TEXT_KEYS:
            continue
        if not key.startswith(_IGNORED_PREFIXES):
            raise CatalogError(f"{where}: price key {key!r} is not supported for text usage")


def compile_card(prices: Mapping[str, Decimal | types.TieredPrices | None], where: str) -> RateCard:
    """Compile resolved prices (price key → price) into a `RateCard`.

    Each bucket takes the first key of its fallback chain that has a price; a bucket
    with none costs nothing, as in genai-prices.
    """
    chosen: list[tuple[str, Decimal | types.TieredPrices] | None] = []
    thresholds: set[int] = set()
    for keys in _FALLBACKS:
        found = next(((k, v) for k in keys if (v := prices.get(k)) is not None), None)
        chosen.append(found)
        if found is not None and not isinstance(found[1], Decimal):  # tiered prices
            thresholds.update(t.start for t in found[1].tiers)
    ordered = tuple(sorted(thresholds))
    rates: list[tuple[int, ...]] = []
    for threshold in (None, *ordered):
        row = []
        for found in chosen:
            if found is None:
                row.append(0)
                continue
            key, price = found
            per = _PER.get(key, 1_000_000)
            row.append(_decimal_to_pico(_applicable(price, threshold), per, f"{where} {key}"))
        rates.append(tuple(row))
    return RateCard(thresholds=ordered, rates=tuple(rates))


def compile_model_price(model_price: types.ModelPrice, where: str) -> RateCard | None:
    """Compile a resolved genai-prices `ModelPrice`; None when it has no input price."""
    _check_keys(model_price, where)
    values = {k: v for k, v in model_price.__dict__.items() if not k.startswith("_")}
    if values.get("input_mtok") is None:
        return None
    return compile_card(values, where)


def _change_dates(model: types.ModelInfo) -> list[date]:
    from genai_prices import types  # noqa: PLC0415 (see `Catalog`)

    dates: set[date] = set()
    constraints: list[Any] = []
    if not isinstance(model.prices, types.ModelPrice):
        constraints.extend(c.constraint for c in model.prices)
    constraints.extend(v.constraint for v in model.price_variants or ())
    for constraint in constraints:
        if isinstance(constraint, types.StartDateConstraint):
            dates.add(constraint.start_date)
        elif constraint is not None:
            raise CatalogError(
                f"{model.id}: time-of-day prices ({type(constraint).__name__}) are not supported"
            )
    return sorted(dates)


class Catalog:
    """Resolves models and compiles their timelines once; thread-compatible, no I/O."""

    def __init__(self, snapshot: data_snapshot.DataSnapshot | None = None) -> None:
        # genai-prices is imported here, not with this module: loading it takes ≈ 0.3 s,
        # which every command that reads the settings (they hold negotiated rates)
        # would otherwise pay, priced anything or not.
        from genai_prices import data_snapshot  # noqa: PLC0415

        self._snapshot = snapshot or data_snapshot.get_snapshot()
        self.version = f"genai-prices-{version('genai-prices')}"
        self._timelines: dict[tuple[str, str, PriceContext], Timeline | None] = {}

    def genai_provider_id(self, provider: str) -> str:
        return GENAI_PROVIDER.get(provider.lower(), provider.lower())

    def find(self, provider: str, model_ref: str) -> tuple[types.Provider, types.ModelInfo] | None:
        try:
            return self._snapshot.find_provider_model(
                model_ref, None, self.genai_provider_id(provider), None
            )
        except LookupError:
            return None

    def timeline(
        self, provider: str, model_ref: str, context: PriceContext = ()
    ) -> Timeline | None:
        """The compiled timeline of a model in a price context, or None if it has no price."""
        key = (provider.lower(), model_ref.lower(), context)
        if key not in self._timelines:
            self._timelines[key] = self._compile(provider, model_ref, context)
        return self._timelines[key]

    def _compile(self, provider: str, model_ref: str, context: PriceContext) -> Timeline | None:
        found = self.find(provider, model_ref)
        if found is None:
            return None
        gp_provider, model = found
        ctx = dict(context)
        own_model = any(model is m for m in gp_provider.models)
        starts = [date.min, *_change_dates(model)]
        cards: list[RateCard] = []
        for start in starts:
            moment = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
            resolved = model.get_prices(moment, ctx if (ctx and own_model) else None)
            card = compile_model_price(resolved, f"{gp_provider.id}/{model.id}")
            if card is None:
                return None
            cards.append(card)
        return Timeline(
            provider=provider.lower(), model_id=model.id, starts=tuple(starts), cards=tuple(cards)
        )

    def text_models(self, providers: Iterable[str] = GENAI_PROVIDER) -> list[tuple[str, str]]:
        """Every (provider, model id) with a text input price, for tests and listings."""
        out: list[tuple[str, str]] = []
        for provider in providers:
            gp_id = self.genai_provider_id(provider)
            gp = next((p for p in self._snapshot.providers if p.id == gp_id), None)
            for model in gp.models if gp else ():
                if self.timeline(provider, model.id) is not None:
                    out.append((provider, model.id))
        return out
