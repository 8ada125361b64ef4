"""The reference: genai-prices' own `calc_price` on the same usage, date and context."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import genai_prices

from aifinops.pricing import price_context
from aifinops.pricing.catalog import GENAI_PROVIDER
from aifinops.usage import Usage


def reference_usd(
    provider: str, model: str, ts: datetime, usage: Usage, tier: str | None, batch: bool
) -> Decimal:
    # genai-prices counts input the OpenAI way: total input, cache reads and writes included.
    gp_usage = genai_prices.Usage(
        input_tokens=usage.total_input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
        web_searches=usage.web_search_requests,
    )
    result = genai_prices.calc_price(
        gp_usage,
        model,
        provider_id=GENAI_PROVIDER[provider],
        genai_request_timestamp=ts,
        price_context=dict(price_context(tier, batch)) or None,
    )
    return result.total_price
