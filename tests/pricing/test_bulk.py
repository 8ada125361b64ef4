"""`price_many` gives exactly what the single-event engine gives, row for row."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.pricing import PricingEngine, RateBook
from aifinops.pricing.bulk import Categorical, ColumnError, price_many
from aifinops.pricing.columns import events_to_columns
from aifinops.usage import Usage, UsageEvent
from tests.pricing.strategies import moments, tiers, usages

RATES = RateBook.parse(
    [
        {"provider": "anthropic", "model": "claude-*", "discount_pct": 7.5, "from": "2025-01-01"},
        {
            "provider": "openai",
            "model": "gpt-4o*",
            "prices": {"input_mtok": 1, "output_mtok": 4, "cache_read_mtok": 0.5},
            "to": "2026-12-31",
        },
        {"provider": "bedrock", "model": "*", "batch": True, "discount_pct": 3},
    ]
)
ENGINE = PricingEngine(rates=RATES)
MODELS = [
    *ENGINE.catalog.text_models(),
    ("openai", "acme-private-ft-1"),
    ("anthropic", "claude-unknown-9"),
]

events = st.builds(
    lambda i, model, ts, usage, tier, batch: UsageEvent(
        event_id=f"e{i}",
        ts=ts,
        provider=model[0],
        model=model[1],
        usage=usage,
        service_tier=tier,
        batch=batch,
    ),
    st.integers(0, 10**6),
    st.sampled_from(MODELS),
    moments,
    usages,
    tiers,
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(batch_of_events=st.lists(events, min_size=1, max_size=40))
def test_bulk_equals_single(batch_of_events: list[UsageEvent]) -> None:
    priced = price_many(ENGINE, events_to_columns(batch_of_events))
    assert len(priced) == len(batch_of_events)
    for i, event in enumerate(batch_of_events):
        single = ENGINE.price(
            event.provider,
            event.model,
            event.ts,
            event.usage,
            service_tier=event.service_tier,
            batch=event.batch,
        )
        assert priced.row(i) == (
            single.list_cost_nusd,
            single.effective_cost_nusd,
            single.price_version,
        )
        assert bool(priced.unpriced[i]) == single.unpriced


def test_plain_string_columns_and_iso_timestamps() -> None:
    columns = {
        "provider": ["anthropic", "openai", "openai"],
        "model": ["claude-sonnet-4-5", "gpt-5", "nope"],
        "ts": np.array(["2026-11-01T10:00:00Z", "2026-11-01T23:30:00-05:00", "2026-11-02"]),
        "input_tokens": np.array([1000, 1_000_000, 5]),
        "output_tokens": np.array([1000, 0, 5]),
    }
    priced = price_many(ENGINE, columns)
    assert priced.row(0)[0] == 18_000_000
    assert priced.row(0)[1] == 16_650_000  # 7.5% off
    assert priced.row(1)[0] == 1_250_000_000
    assert priced.row(2) == (None, None, None)
    assert priced.unpriced.tolist() == [False, False, True]


def test_many_rows_few_groups_uses_the_same_plan() -> None:
    n = 50_000
    rng = np.random.default_rng(7)
    columns = {
        "provider": Categorical(np.zeros(n, dtype=np.int64), ["anthropic"]),
        "model": Categorical(rng.integers(0, 2, n), ["claude-haiku-4-5", "claude-opus-4-5"]),
        "ts": np.datetime64("2026-11-01") + rng.integers(0, 86_400, n).astype("timedelta64[s]"),
        "input_tokens": rng.integers(0, 5_000, n),
        "output_tokens": rng.integers(0, 500, n),
    }
    priced = price_many(PricingEngine(), columns)
    haiku = columns["model"].codes == 0
    expected = np.where(
        haiku,
        columns["input_tokens"] * 1_000 + columns["output_tokens"] * 5_000,
        columns["input_tokens"] * 5_000 + columns["output_tokens"] * 25_000,
    )
    assert np.array_equal(priced.list_cost_nusd, expected)


@pytest.mark.parametrize(
    ("columns", "column"),
    [
        ({"provider": ["openai"], "ts": ["2026-01-01T00:00:00Z"]}, "model"),
        ({"provider": ["openai"], "model": ["gpt-5"]}, "ts"),
        ({"model": ["gpt-5"], "ts": ["2026-01-01T00:00:00Z"]}, "provider"),
        (
            {"provider": ["openai"], "model": ["gpt-5"], "ts": ["yesterday"]},
            "ts",
        ),
        (
            {
                "provider": ["openai"],
                "model": ["gpt-5"],
                "ts": ["2026-01-01T00:00:00Z"],
                "input_tokens": np.array([-1]),
            },
            "input_tokens",
        ),
        (
            {
                "provider": ["openai"],
                "model": ["gpt-5"],
                "ts": ["2026-01-01T00:00:00Z"],
                "output_tokens": np.array([1.5]),
            },
            "output_tokens",
        ),
        (
            {
                "provider": ["openai", "openai"],
                "model": ["gpt-5"],
                "ts": ["2026-01-01T00:00:00Z"],
            },
            "provider",
        ),
    ],
)
def test_bad_columns_name_the_column(columns: dict[str, object], column: str) -> None:
    with pytest.raises(ColumnError) as info:
        price_many(ENGINE, columns)
    assert info.value.column == column


def test_empty_input() -> None:
    priced = price_many(ENGINE, {"provider": [], "model": [], "ts": np.array([], "datetime64[s]")})
    assert len(priced) == 0


def test_event_columns_round_trip_timezone() -> None:
    event = UsageEvent(
        event_id="x",
        ts=datetime(2026, 11, 1, 23, 59, tzinfo=UTC),
        provider="openai",
        model="gpt-5",
        usage=Usage(10),
    )
    columns = events_to_columns([event])
    assert str(columns["ts"][0]) == "2026-11-01T23:59:00.000000"
