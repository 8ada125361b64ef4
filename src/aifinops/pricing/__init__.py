"""Exact pricing: list prices from genai-prices, negotiated rates on top, bulk pricing."""

from aifinops.pricing.catalog import BUCKETS, Catalog, CatalogError, price_context
from aifinops.pricing.engine import PriceResult, PricingEngine
from aifinops.pricing.rates import RateBook, RatesError

__all__ = [
    "BUCKETS",
    "Catalog",
    "CatalogError",
    "PriceResult",
    "PricingEngine",
    "RateBook",
    "RatesError",
    "price_context",
]
