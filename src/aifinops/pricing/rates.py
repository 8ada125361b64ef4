"""Negotiated rates: discounts or explicit per-token prices on top of list prices.

They come from the ``rates:`` section of the config file (or a YAML file it names) and
yield *effective* cost beside *list* cost. One entry::

    - provider: anthropic          # required: anthropic | openai | bedrock | …
      model: "claude-sonnet-4*"    # required: the model as billed, or a glob
      discount_pct: 12.5           # either a discount off list (0–100, two decimals) …
      prices:                      # … or explicit USD per million tokens
        input_mtok: 2.4
        output_mtok: 12
        cache_read_mtok: 0.24      # optional; missing cache prices fall back as in the list data
      service_tier: priority       # optional: only calls in this tier
      batch: false                 # optional: only batch (true) or only non-batch (false) calls
      from: 2026-01-01             # optional, inclusive UTC date
      to: 2026-12-31               # optional, inclusive UTC date

Entries are matched in file order and the first that applies to a call wins.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from aifinops.pricing.catalog import CatalogError, RateCard, compile_card

EXPLICIT_PRICE_KEYS: tuple[str, ...] = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_5m_mtok",
    "cache_write_1h_mtok",
    "web_searches_kcount",
)
_ENTRY_KEYS = frozenset(
    {"provider", "model", "discount_pct", "prices", "service_tier", "batch", "from", "to", "note"}
)


class RatesError(ValueError):
    """A negotiated-rates entry is invalid; ``field`` is its path, e.g. ``rates[2].model``."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class NegotiatedRate:
    provider: str
    model: str
    discount_bp: int = 0
    card: RateCard | None = None
    service_tier: str | None = None
    batch: bool | None = None
    start: date = date.min
    end: date = date.max  # exclusive

    def matches(
        self, provider: str, model_refs: Sequence[str], service_tier: str | None, batch: bool
    ) -> bool:
        if provider.lower() != self.provider:
            return False
        if self.service_tier is not None and (service_tier or "").lower() != self.service_tier:
            return False
        if self.batch is not None and batch != self.batch:
            return False
        return any(fnmatch.fnmatchcase(ref.lower(), self.model) for ref in model_refs)


def _decimal(field: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise RatesError(field, f"must be a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise RatesError(field, f"must be a number, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise RatesError(field, f"must be a non-negative number, got {value!r}")
    return result


def _date(field: str, value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise RatesError(field, f"must be a date YYYY-MM-DD, got {value!r}")


def _required_str(field: str, value: object, hint: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RatesError(field, f"is required ({hint})")
    return value.strip().lower()


def _discount_bp(field: str, value: object) -> int:
    pct = _decimal(field, value)
    if pct > 100:
        raise RatesError(field, f"must be between 0 and 100, got {value!r}")
    bp = pct * 100
    if bp != bp.to_integral_value():
        raise RatesError(field, f"allows at most two decimals, got {value!r}")
    return int(bp)


def _explicit_card(field: str, value: object) -> RateCard:
    if not isinstance(value, Mapping):
        raise RatesError(field, "must be a mapping of price keys to USD per million tokens")
    unknown = sorted(set(value) - set(EXPLICIT_PRICE_KEYS))
    if unknown:
        raise RatesError(
            f"{field}.{unknown[0]}",
            f"unknown price key; use one of {', '.join(EXPLICIT_PRICE_KEYS)}",
        )
    for required in ("input_mtok", "output_mtok"):
        if required not in value:
            raise RatesError(f"{field}.{required}", "is required with explicit prices")
    prices = {k: _decimal(f"{field}.{k}", v) for k, v in value.items()}
    try:
        return compile_card(dict(prices), field)
    except CatalogError as exc:
        raise RatesError(field, f"{exc} (use at most six decimals)") from None


def parse_entry(index: int, raw: object) -> NegotiatedRate:
    where = f"rates[{index}]"
    if not isinstance(raw, Mapping):
        raise RatesError(where, "must be a mapping with provider, model and a discount or prices")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise RatesError(
            f"{where}.{unknown[0]}", f"unknown key; use {', '.join(sorted(_ENTRY_KEYS))}"
        )
    provider = _required_str(f"{where}.provider", raw.get("provider"), "e.g. anthropic")
    model = _required_str(
        f"{where}.model", raw.get("model"), "a model id or a glob such as gpt-4o*"
    )
    has_discount, has_prices = "discount_pct" in raw, "prices" in raw
    if has_discount == has_prices:
        raise RatesError(where, "give exactly one of discount_pct or prices")
    batch = raw.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise RatesError(f"{where}.batch", f"must be true or false, got {batch!r}")
    tier = raw.get("service_tier")
    start = _date(f"{where}.from", raw["from"]) if raw.get("from") is not None else date.min
    end = date.max
    if raw.get("to") is not None:
        last = _date(f"{where}.to", raw["to"])
        if last < start:
            raise RatesError(f"{where}.to", f"{last} is before from ({start})")
        end = last + timedelta(days=1) if last < date.max else date.max
    return NegotiatedRate(
        provider=provider,
        model=model,
        discount_bp=_discount_bp(f"{where}.discount_pct", raw["discount_pct"])
        if has_discount
        else 0,
        card=_explicit_card(f"{where}.prices", raw["prices"]) if has_prices else None,
        service_tier=_required_str(f"{where}.service_tier", tier, "a tier name") if tier else None,
        batch=batch,
        start=start,
        end=end,
    )


@dataclass(frozen=True, slots=True)
class RateBook:
    """The negotiated rates in force, with a short digest that names their version."""

    entries: tuple[NegotiatedRate, ...] = ()
    digest: str = ""

    @classmethod
    def parse(cls, raw: object) -> RateBook:
        if raw is None:
            return cls()
        if not isinstance(raw, list):
            raise RatesError("rates", "must be a list of entries")
        entries = tuple(parse_entry(i, item) for i, item in enumerate(raw))
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
        return cls(entries=entries, digest=digest[:8] if entries else "")

    def matching(
        self, provider: str, model_refs: Sequence[str], service_tier: str | None, batch: bool
    ) -> list[NegotiatedRate]:
        return [e for e in self.entries if e.matches(provider, model_refs, service_tier, batch)]


def load_rates_data(data: Any) -> RateBook:
    """Build a `RateBook` from parsed YAML: a list, or a mapping with a ``rates`` list."""
    if isinstance(data, Mapping):
        data = data.get("rates")
    return RateBook.parse(data)
