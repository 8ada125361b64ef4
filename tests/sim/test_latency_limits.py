"""Latency profiles (on the fake clock) and rate-limit windows and headers."""

from __future__ import annotations

import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim import RateLimits, SimConfig
from aifinops.sim.latency import FAST, SLOW, STANDARD, speed_for, timing
from aifinops.sim.ratelimit import RateLimiter
from aifinops.sim.reply import Charge
from tests.sim.conftest import (
    ANTHROPIC_HEADERS,
    OPENAI_HEADERS,
    FakeClock,
    chat,
    message,
    sim_client,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("model", "speed"),
    [
        ("gpt-4o-mini", FAST),
        ("claude-haiku-4-5", FAST),
        ("claude-opus-5", SLOW),
        ("o3", SLOW),
        ("gpt-4.1", STANDARD),
    ],
)
def test_speed_classes(model: str, speed: object) -> None:
    assert speed_for(model) is speed


def test_timing_adds_prefill_and_reasoning_to_first_token() -> None:
    assert timing("zero", "gpt-4.1", Charge(input_tokens=10**6), embedding=False).total(500) == 0
    base = timing("realistic", "gpt-4.1", Charge(), embedding=False)
    assert base.first_s == pytest.approx(0.45)
    assert base.per_token_s == pytest.approx(1 / 80)
    heavy = timing(
        "realistic",
        "gpt-4.1",
        Charge(input_tokens=25_000, cache_read=250_000, reasoning_tokens=80),
        embedding=False,
    )
    assert heavy.first_s == pytest.approx(0.45 + 1.0 + 1.0 + 1.0)


async def test_realistic_non_stream_waits_for_the_whole_reply(catalog: Catalog) -> None:
    clock = FakeClock()
    config = SimConfig(clock=clock, latency_profile="realistic")
    async with sim_client(catalog, config) as client:
        r = await client.post(
            "/v1/chat/completions",
            json=chat(model="gpt-4.1"),
            headers={**OPENAI_HEADERS, "x-sim-output-tokens": "160"},
        )
    prompt = r.json()["usage"]["prompt_tokens"]
    assert clock.sleeps == [pytest.approx(0.45 + prompt / 25_000 + 160 / 80)]


async def test_realistic_stream_paces_each_token(catalog: Catalog) -> None:
    clock = FakeClock()
    config = SimConfig(clock=clock, latency_profile="realistic")
    async with sim_client(catalog, config) as client:
        r = await client.post(
            "/v1/messages",
            json=message(model="claude-haiku-4-5", stream=True),
            headers={**ANTHROPIC_HEADERS, "x-sim-output-tokens": "30"},
        )
    assert r.status_code == 200
    token_sleeps = [s for s in clock.sleeps if s == pytest.approx(1 / 150)]
    assert len(token_sleeps) == 29  # the first token comes with the time to first token
    first_token = [s for s in clock.sleeps if s > 0.2]
    assert len(first_token) == 1
    assert first_token[0] == pytest.approx(0.25, abs=0.01)


async def test_zero_profile_never_sleeps(catalog: Catalog) -> None:
    clock = FakeClock()
    async with sim_client(catalog, SimConfig(clock=clock)) as client:
        await client.post("/v1/chat/completions", json=chat(stream=True), headers=OPENAI_HEADERS)
        await client.post("/v1/messages", json=message(), headers=ANTHROPIC_HEADERS)
    assert clock.sleeps == []


async def test_headers_count_down_and_reset_each_minute(catalog: Catalog) -> None:
    clock = FakeClock(start=1_800_000_000.0)  # a whole minute
    limits = RateLimits(requests_per_minute=5, tokens_per_minute=100_000)
    async with sim_client(catalog, SimConfig(clock=clock, rate_limits=limits)) as client:
        first = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
        second = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
        clock.advance(60)
        fresh = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
    assert first.headers["x-ratelimit-remaining-requests"] == "4"
    assert second.headers["x-ratelimit-remaining-requests"] == "3"
    used = first.json()["usage"]["total_tokens"]
    assert int(first.headers["x-ratelimit-remaining-tokens"]) == 100_000 - used
    assert first.headers["x-ratelimit-reset-requests"] == "1m0s"
    assert fresh.headers["x-ratelimit-remaining-requests"] == "4"


async def test_enforced_limits_answer_429(catalog: Catalog) -> None:
    clock = FakeClock(start=1_800_000_030.0)
    limits = RateLimits(requests_per_minute=2, enforce=True)
    async with sim_client(catalog, SimConfig(clock=clock, rate_limits=limits)) as client:
        codes = [
            (await client.post("/v1/messages", json=message(), headers=ANTHROPIC_HEADERS))
            for _ in range(3)
        ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["type"] == "rate_limit_error"
    assert codes[2].headers["retry-after"] == "30"
    assert codes[2].headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_anthropic_cache_reads_do_not_use_input_limit(catalog: Catalog) -> None:
    system = [{"type": "text", "text": "y" * 8000, "cache_control": {"type": "ephemeral"}}]
    body = message(system=system)
    async with sim_client(catalog) as client:
        first = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
        second = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    before = int(first.headers["anthropic-ratelimit-input-tokens-remaining"])
    after = int(second.headers["anthropic-ratelimit-input-tokens-remaining"])
    assert second.json()["usage"]["cache_read_input_tokens"] == 2002
    assert before - after == second.json()["usage"]["input_tokens"]


def test_anthropic_tokens_header_reports_the_tighter_limit() -> None:
    limiter = RateLimiter(RateLimits(input_tokens_per_minute=1000, output_tokens_per_minute=100))
    left = limiter.charge("anthropic", "m", Charge(input_tokens=100, output_tokens=50), now=0.0)
    headers = dict(limiter.headers("anthropic", left))
    assert headers["anthropic-ratelimit-tokens-limit"] == "100"
    assert headers["anthropic-ratelimit-tokens-remaining"] == "50"
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == "900"
    assert headers["anthropic-ratelimit-requests-reset"] == "1970-01-01T00:01:00Z"
