"""Negotiated rates: discounts, explicit prices, dates, matching, and errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aifinops.pricing import PricingEngine, RateBook, RatesError
from aifinops.usage import Usage

TS = datetime(2026, 6, 15, tzinfo=UTC)
LIST = PricingEngine()


def engine(*entries: dict[str, Any]) -> PricingEngine:
    return PricingEngine(rates=RateBook.parse(list(entries)))


def test_discount_applies_to_effective_cost_only() -> None:
    eng = engine({"provider": "anthropic", "model": "claude-*", "discount_pct": 12.5})
    usage = Usage(1_000, output_tokens=1_000)  # list $0.018
    result = eng.price("anthropic", "claude-sonnet-4-5", TS, usage)
    assert result.list_cost_nusd == 18_000_000
    assert result.effective_cost_nusd == 15_750_000
    assert result.price_version is not None and "+rates-" in result.price_version
    # another provider is untouched, and carries the plain list version
    other = eng.price("openai", "gpt-5", TS, Usage(1_000))
    assert other.effective_cost_nusd == other.list_cost_nusd
    assert other.price_version == LIST.catalog.version


def test_discount_rounds_half_up() -> None:
    eng = engine({"provider": "bedrock", "model": "amazon.nova-micro-v1:0", "discount_pct": 50})
    # 1 cache-read token lists at 8.75 → 9 nano-USD; half of 9 is 4.5 → 5
    result = eng.price("bedrock", "amazon.nova-micro-v1:0", TS, Usage(cache_read_tokens=1))
    assert (result.list_cost_nusd, result.effective_cost_nusd) == (9, 5)


def test_explicit_prices_with_cache_fallback_to_input() -> None:
    eng = engine(
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "prices": {"input_mtok": "0.12", "output_mtok": 0.48},
        }
    )
    usage = Usage(1_000_000, cache_read_tokens=1_000_000, output_tokens=1_000_000)
    result = eng.price("openai", "gpt-4o-mini", TS, usage)
    # list: 0.15 + 0.075 + 0.60; negotiated: cache reads fall back to the input price
    assert result.list_cost_nusd == 825_000_000
    assert result.effective_cost_nusd == 120_000_000 + 120_000_000 + 480_000_000


def test_dates_are_inclusive() -> None:
    eng = engine(
        {
            "provider": "openai",
            "model": "gpt-5",
            "discount_pct": 20,
            "from": "2026-06-01",
            "to": "2026-06-30",
        }
    )
    usage = Usage(1_000_000)
    day = {
        d: eng.price("openai", "gpt-5", datetime(2026, *d, 23, 59, tzinfo=UTC), usage)
        for d in [(5, 31), (6, 1), (6, 30), (7, 1)]
    }
    assert day[(5, 31)].effective_cost_nusd == 1_250_000_000
    assert day[(6, 1)].effective_cost_nusd == 1_000_000_000
    assert day[(6, 30)].effective_cost_nusd == 1_000_000_000
    assert day[(7, 1)].effective_cost_nusd == 1_250_000_000


def test_tier_and_batch_matchers_and_first_match_wins() -> None:
    eng = engine(
        {"provider": "openai", "model": "gpt-5", "service_tier": "priority", "discount_pct": 50},
        {"provider": "openai", "model": "gpt-5", "batch": True, "discount_pct": 10},
        {"provider": "openai", "model": "gpt-*", "discount_pct": 1},
    )
    usage = Usage(1_000_000)
    priority = eng.price("openai", "gpt-5", TS, usage, service_tier="priority")
    assert priority.effective_cost_nusd == priority.list_cost_nusd // 2  # type: ignore[operator]
    batch = eng.price("openai", "gpt-5", TS, usage, batch=True)
    assert batch.effective_cost_nusd == batch.list_cost_nusd * 9 // 10  # type: ignore[operator]
    plain = eng.price("openai", "gpt-5", TS, usage)
    assert plain.effective_cost_nusd == plain.list_cost_nusd * 99 // 100  # type: ignore[operator]


def test_glob_matches_the_canonical_model_id_too() -> None:
    eng = engine({"provider": "anthropic", "model": "claude-sonnet-4-5", "discount_pct": 10})
    dated = eng.price("anthropic", "claude-sonnet-4-5-20250929", TS, Usage(1_000))
    assert dated.effective_cost_nusd == 2_700_000


def test_unknown_model_stays_unpriced_with_rates() -> None:
    eng = engine({"provider": "openai", "model": "*", "discount_pct": 10})
    assert eng.price("openai", "acme-private-ft-1", TS, Usage(1_000)).unpriced


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"model": "x", "discount_pct": 1}, "rates[0].provider", "required"),
        ({"provider": "openai", "discount_pct": 1}, "rates[0].model", "required"),
        ({"provider": "openai", "model": "x"}, "rates[0]", "exactly one"),
        (
            {"provider": "openai", "model": "x", "discount_pct": 1, "prices": {}},
            "rates[0]",
            "exactly one",
        ),
        ({"provider": "openai", "model": "x", "discount_pct": 101}, "rates[0].discount_pct", "100"),
        ({"provider": "openai", "model": "x", "discount_pct": -1}, "rates[0].discount_pct", "non"),
        (
            {"provider": "openai", "model": "x", "discount_pct": "1.234"},
            "rates[0].discount_pct",
            "two decimals",
        ),
        (
            {"provider": "openai", "model": "x", "discount_pct": "lots"},
            "rates[0].discount_pct",
            "number",
        ),
        (
            {"provider": "openai", "model": "x", "prices": {"input_mtok": 1}},
            "rates[0].prices.output_mtok",
            "required",
        ),
        (
            {
                "provider": "openai",
                "model": "x",
                "prices": {"input_mtok": 1, "output_mtok": 1, "audio_mtok": 1},
            },
            "rates[0].prices.audio_mtok",
            "unknown price key",
        ),
        (
            {"provider": "openai", "model": "x", "prices": {"input_mtok": 1e-7, "output_mtok": 1}},
            "rates[0].prices",
            "six decimals",
        ),
        (
            {"provider": "openai", "model": "x", "discount_pct": 1, "from": "June"},
            "rates[0].from",
            "YYYY-MM-DD",
        ),
        (
            {
                "provider": "openai",
                "model": "x",
                "discount_pct": 1,
                "from": "2026-02-01",
                "to": "2026-01-01",
            },
            "rates[0].to",
            "before",
        ),
        (
            {"provider": "openai", "model": "x", "discount_pct": 1, "batch": "y"},
            "rates[0].batch",
            "true or false",
        ),
        ({"provider": "openai", "model": "x", "discount": 1}, "rates[0].discount", "unknown key"),
        ("not a mapping", "rates[0]", "mapping"),
    ],
)
def test_bad_entry_names_the_field(raw: object, field: str, words: str) -> None:
    with pytest.raises(RatesError) as info:
        RateBook.parse([raw])
    assert info.value.field == field
    assert words in str(info.value)


def test_rates_must_be_a_list() -> None:
    with pytest.raises(RatesError, match="must be a list"):
        RateBook.parse({"provider": "openai"})
