"""List cost equals genai-prices' `calc_price` for every text model, to within 1e-9 USD."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.pricing import PricingEngine
from aifinops.pricing.catalog import Catalog
from aifinops.usage import Usage
from tests.pricing.reference import reference_usd
from tests.pricing.strategies import moments, tiers, usages

ENGINE = PricingEngine()
MODELS = Catalog().text_models(["anthropic", "openai", "bedrock"])
NANO = Decimal("1e-9")


def test_catalog_covers_all_three_providers() -> None:
    providers = {p for p, _ in MODELS}
    assert providers == {"anthropic", "openai", "bedrock"}
    assert len(MODELS) > 150


@pytest.mark.parametrize(("provider", "model"), MODELS, ids=[f"{p}/{m}" for p, m in MODELS])
@settings(max_examples=15, deadline=None)
@given(usage=usages, ts=moments, tier=tiers, batch=st.booleans())
def test_list_cost_matches_genai_prices(
    provider: str, model: str, usage: Usage, ts: datetime, tier: str | None, batch: bool
) -> None:
    ours = ENGINE.price(provider, model, ts, usage, service_tier=tier, batch=batch)
    assert ours.list_cost_nusd is not None
    expected = reference_usd(provider, model, ts, usage, tier, batch)
    assert abs(Decimal(ours.list_cost_nusd) * NANO - expected) <= NANO
    # with no negotiated rates, effective cost is list cost
    assert ours.effective_cost_nusd == ours.list_cost_nusd
