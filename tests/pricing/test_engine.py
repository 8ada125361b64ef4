"""The single-event engine: tiers, batch, service tiers, extras, rounding, unpriced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aifinops.pricing import PricingEngine
from aifinops.usage import Usage, UsageEvent

TS = datetime(2026, 11, 1, 12, tzinfo=UTC)
ENGINE = PricingEngine()


@pytest.mark.parametrize(
    ("name", "provider", "model", "usage", "kwargs", "nusd"),
    [
        # $3/M input, $15/M output
        (
            "sonnet plain",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(1000, output_tokens=1000),
            {},
            18_000_000,
        ),
        # cache read $0.30/M, 5m write $3.75/M, 1h write $6/M
        (
            "sonnet cache kinds",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(
                0,
                cache_read_tokens=10_000,
                cache_write_5m_tokens=1_000,
                cache_write_1h_tokens=1_000,
            ),
            {},
            3_000_000 + 3_750_000 + 6_000_000,
        ),
        # 210k total input crosses 200k: the whole request at $6 / $0.60 / $22.50
        (
            "sonnet long context",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(150_000, cache_read_tokens=60_000, output_tokens=1_000),
            {},
            958_500_000,
        ),
        # exactly 200k is not above the threshold
        ("sonnet at threshold", "anthropic", "claude-sonnet-4-5", Usage(200_000), {}, 600_000_000),
        (
            "sonnet batch halves",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(100, output_tokens=1_000),
            {"batch": True},
            7_650_000,
        ),
        (
            "anthropic tier batch",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(100, output_tokens=1_000),
            {"service_tier": "batch"},
            7_650_000,
        ),
        # $10 per 1,000 searches
        (
            "web search",
            "anthropic",
            "claude-sonnet-4-5",
            Usage(web_search_requests=3),
            {},
            30_000_000,
        ),
        ("gpt-5 standard", "openai", "gpt-5", Usage(1_000_000), {}, 1_250_000_000),
        (
            "gpt-5 priority",
            "openai",
            "gpt-5",
            Usage(1_000_000),
            {"service_tier": "priority"},
            2_500_000_000,
        ),
        ("gpt-5 flex", "openai", "gpt-5", Usage(1_000_000), {"service_tier": "flex"}, 625_000_000),
        # reasoning is inside output: 1,000 output tokens at $10/M whatever the reasoning share
        (
            "reasoning counted once",
            "openai",
            "gpt-5",
            Usage(output_tokens=1_000, reasoning_tokens=800),
            {},
            10_000_000,
        ),
        # bedrock cross-region profile: 10% above in-region
        (
            "bedrock us profile",
            "bedrock",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            Usage(1_000_000),
            {},
            3_300_000_000,
        ),
        # $0.00875/M is 8.75 nano-USD per token: 1 token rounds up to 9, 2 tokens 17.5 to 18
        (
            "rounding half up 1",
            "bedrock",
            "amazon.nova-micro-v1:0",
            Usage(cache_read_tokens=1),
            {},
            9,
        ),
        (
            "rounding half up 2",
            "bedrock",
            "amazon.nova-micro-v1:0",
            Usage(cache_read_tokens=2),
            {},
            18,
        ),
    ],
)
def test_list_cost(
    name: str, provider: str, model: str, usage: Usage, kwargs: dict[str, object], nusd: int
) -> None:
    result = ENGINE.price(provider, model, TS, usage, **kwargs)  # type: ignore[arg-type]
    assert result.list_cost_nusd == nusd, name
    assert result.effective_cost_nusd == nusd
    assert result.price_version == ENGINE.catalog.version


def test_each_price_applies_from_its_start_date() -> None:
    changed = 0
    for provider, model in ENGINE.catalog.text_models():
        for context in ((), (("processing", "batch"),)):
            timeline = ENGINE.catalog.timeline(provider, model, context)
            assert timeline is not None
            for i, start in enumerate(timeline.starts[1:], start=1):
                assert timeline.card_at(start) is timeline.cards[i]
                assert timeline.card_at(start - timedelta(days=1)) is timeline.cards[i - 1]
                changed += timeline.cards[i] != timeline.cards[i - 1]
    # the pinned data has real price changes (e.g. batch discounts that start on a date)
    assert changed > 0


def test_unknown_model_is_unpriced_never_zero() -> None:
    result = ENGINE.price("openai", "acme-private-ft-1", TS, Usage(1000, output_tokens=10))
    assert result.unpriced
    assert result.list_cost_nusd is None
    assert result.effective_cost_nusd is None
    assert result.price_version is None


def test_unknown_provider_is_unpriced() -> None:
    assert ENGINE.price("nobody", "gpt-5", TS, Usage(1000)).unpriced


def test_price_event_sets_cost_and_flag() -> None:
    event = UsageEvent(event_id="e1", ts=TS, provider="openai", model="gpt-5", usage=Usage(1000))
    priced = ENGINE.price_event(event)
    assert priced.list_cost_nusd == 1_250_000
    assert priced.effective_cost_nusd == 1_250_000
    assert not priced.unpriced
    unknown = ENGINE.price_event(
        UsageEvent(event_id="e2", ts=TS, provider="openai", model="nope-1", usage=Usage(1))
    )
    assert unknown.unpriced and unknown.list_cost_nusd is None


def test_model_aliases_resolve_to_one_model() -> None:
    dated = ENGINE.price("anthropic", "claude-sonnet-4-5-20250929", TS, Usage(1000))
    plain = ENGINE.price("anthropic", "claude-sonnet-4-5", TS, Usage(1000))
    assert dated == plain
