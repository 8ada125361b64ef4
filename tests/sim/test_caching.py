"""Prompt-caching emulation: Anthropic breakpoints and TTLs, OpenAI automatic prefixes."""

from __future__ import annotations

from typing import Any

import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim import SimConfig
from aifinops.sim.cache_rules import (
    ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS,
    anthropic_min_cacheable_tokens,
    normalize_anthropic_model,
    openai_cached_tokens_ceiling,
)
from tests.sim.conftest import ANTHROPIC_HEADERS, OPENAI_HEADERS, FakeClock, sim_client

pytestmark = pytest.mark.anyio

EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def long_text(tokens: int, seed: str = "a") -> str:
    """Text of exactly ``tokens`` tokens (4 bytes each)."""
    return (seed * 4 * tokens)[: 4 * tokens]


def cached_system(
    tokens: int, question: str = "Q?", model: str = "claude-sonnet-4-6", **extra: Any
) -> dict[str, Any]:
    system = [{"type": "text", "text": long_text(tokens), "cache_control": EPHEMERAL}]
    return {
        "model": model,
        "max_tokens": 50,
        "system": system,
        "messages": [{"role": "user", "content": question}],
        **extra,
    }


async def usage_of(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert r.status_code == 200, r.text
    usage: dict[str, Any] = r.json()["usage"]
    return usage


@pytest.mark.parametrize(
    ("model", "minimum"),
    [
        ("claude-sonnet-4-6", 1024),
        ("claude-opus-4-8", 1024),
        ("claude-opus-4-6", 4096),
        ("claude-haiku-4-5-20251001", 4096),
        ("claude-3-5-haiku-latest", 2048),
        ("claude-3-haiku-20240307", 2048),
        ("claude-opus-5", 512),
        ("claude-opus-4-7", 2048),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 1024),
        ("claude-future-9", ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS),
    ],
)
def test_min_cacheable_table(model: str, minimum: int) -> None:
    assert anthropic_min_cacheable_tokens(model) == minimum


def test_min_cacheable_overrides_and_normalisation() -> None:
    assert normalize_anthropic_model("claude-opus-4") == "claude-opus-4-0"
    assert (
        anthropic_min_cacheable_tokens("claude-sonnet-4-6-20260101", {"claude-sonnet-4-6": 64})
        == 64
    )
    assert openai_cached_tokens_ceiling(1023) == 0
    assert openai_cached_tokens_ceiling(1300) == 1280


async def test_cache_write_then_read_then_expiry(catalog: Catalog, clock: FakeClock) -> None:
    async with sim_client(catalog, SimConfig(clock=clock)) as client:
        first = await usage_of(client, cached_system(2000))
        clock.advance(299)
        second = await usage_of(client, cached_system(2000, "Another question?"))
        clock.advance(299)  # the read at 299 s refreshed the 5-minute lifetime
        third = await usage_of(client, cached_system(2000))
        clock.advance(301)
        expired = await usage_of(client, cached_system(2000))
    prefix = 2000 + 2  # "<system>" header and "\n" add 9 bytes -> 2 more tokens
    assert first["cache_creation_input_tokens"] == prefix
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": prefix,
        "ephemeral_1h_input_tokens": 0,
    }
    assert first["cache_read_input_tokens"] == 0
    assert (second["cache_read_input_tokens"], second["cache_creation_input_tokens"]) == (prefix, 0)
    assert third["cache_read_input_tokens"] == prefix
    assert (expired["cache_read_input_tokens"], expired["cache_creation_input_tokens"]) == (
        0,
        prefix,
    )
    # after the breakpoint: "<user>\n" + question + "\n" + "<assistant>\n" (rounded up)
    assert (first["input_tokens"], second["input_tokens"]) == (6, 10)


async def test_one_hour_ttl_outlives_five_minutes(catalog: Catalog, clock: FakeClock) -> None:
    body = cached_system(2000)
    body["system"][0]["cache_control"] = HOUR
    async with sim_client(catalog, SimConfig(clock=clock)) as client:
        first = await usage_of(client, body)
        clock.advance(50 * 60)
        later = await usage_of(client, body)
        clock.advance(61 * 60)
        gone = await usage_of(client, body)
    assert first["cache_creation"]["ephemeral_1h_input_tokens"] == 2002
    assert later["cache_read_input_tokens"] == 2002
    assert gone["cache_read_input_tokens"] == 0


async def test_prefix_below_model_minimum_is_not_cached(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        haiku = cached_system(3000, model="claude-haiku-4-5")
        short = await usage_of(client, haiku)
        again = await usage_of(client, haiku)
        sonnet = await usage_of(client, cached_system(3000))
    assert short["cache_creation_input_tokens"] == again["cache_read_input_tokens"] == 0
    assert short["input_tokens"] > 3000
    assert sonnet["cache_creation_input_tokens"] == 3002


async def test_configured_minimum_overrides_the_table(catalog: Catalog) -> None:
    config = SimConfig(clock=FakeClock(), min_cacheable_tokens={"claude-haiku-4-5": 100})
    async with sim_client(catalog, config) as client:
        usage = await usage_of(client, cached_system(200, model="claude-haiku-4-5"))
    assert usage["cache_creation_input_tokens"] == 202


async def test_mixed_ttls_split_the_write(catalog: Catalog) -> None:
    body = cached_system(2000)
    body["system"][0]["cache_control"] = HOUR
    body["system"].append({"type": "text", "text": long_text(600, "b"), "cache_control": EPHEMERAL})
    async with sim_client(catalog) as client:
        first = await usage_of(client, body)
        body["system"][1]["text"] = long_text(600, "c")
        changed_tail = await usage_of(client, body)
    assert first["cache_creation"] == {
        "ephemeral_1h_input_tokens": 2002,
        "ephemeral_5m_input_tokens": 600,
    }
    assert changed_tail["cache_read_input_tokens"] == 2002
    assert changed_tail["cache_creation"]["ephemeral_5m_input_tokens"] == 600


async def test_growing_conversation_reads_previous_turn_by_lookback(catalog: Catalog) -> None:
    turns: list[dict[str, Any]] = [{"role": "user", "content": long_text(1500)}]

    def body() -> dict[str, Any]:
        msgs = [dict(m) for m in turns]
        last = msgs[-1]
        last["content"] = [{"type": "text", "text": last["content"], "cache_control": EPHEMERAL}]
        return {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": msgs}

    async with sim_client(catalog) as client:
        first = await usage_of(client, body())
        turns += [
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": long_text(300, "z")},
        ]
        second = await usage_of(client, body())
    assert first["cache_creation_input_tokens"] > 1500
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] > 300


async def test_automatic_caching_marks_the_last_block(catalog: Catalog) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "cache_control": EPHEMERAL,
        "system": long_text(1200),
        "messages": [{"role": "user", "content": "What changed?"}],
    }
    async with sim_client(catalog) as client:
        first = await usage_of(client, body)
        second = await usage_of(client, body)
    assert first["cache_creation_input_tokens"] > 1200
    # only the 12-byte "<assistant>\n" priming follows the block (4 tokens after rounding)
    assert first["input_tokens"] == 4
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]


async def test_tools_are_part_of_the_cached_prefix(catalog: Catalog) -> None:
    tool = {
        "name": "lookup",
        "description": long_text(1100),
        "input_schema": {"type": "object"},
        "cache_control": EPHEMERAL,
    }
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "tools": [tool],
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with sim_client(catalog) as client:
        first = await usage_of(client, body)
        tool["description"] = long_text(1100, "q")
        changed = await usage_of(client, body)
    assert first["cache_creation_input_tokens"] > 1100
    assert changed["cache_read_input_tokens"] == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ("five", "A maximum of 4 blocks with cache_control may be provided. Found 5."),
        ("order", "ttl='1h' cache_control block must not come after a ttl='5m'"),
        ("ttl", "system.0.cache_control.ttl: Input should be '5m' or '1h'"),
    ],
)
async def test_invalid_breakpoints_are_rejected(
    catalog: Catalog, mutate: str, message: str
) -> None:
    body = cached_system(10)
    if mutate == "five":
        body["system"] = [
            {"type": "text", "text": f"block {i}", "cache_control": EPHEMERAL} for i in range(5)
        ]
    elif mutate == "order":
        body["system"].append({"type": "text", "text": "later", "cache_control": HOUR})
    else:
        body["system"][0]["cache_control"] = {"type": "ephemeral", "ttl": "2h"}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]


def openai_body(tokens: int, tail: str = "Question?", **extra: Any) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": long_text(tokens)},
        {"role": "user", "content": tail},
    ]
    return {"model": "gpt-4.1", "messages": messages, **extra}


async def cached_of(client: Any, body: dict[str, Any]) -> tuple[int, int]:
    r = await client.post("/v1/chat/completions", json=body, headers=OPENAI_HEADERS)
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]
    return usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]


async def test_openai_prefix_cache_in_128_token_steps(catalog: Catalog, clock: FakeClock) -> None:
    async with sim_client(catalog, SimConfig(clock=clock)) as client:
        assert (await cached_of(client, openai_body(1300)))[1] == 0
        prompt, cached = await cached_of(client, openai_body(1300, "A different question"))
        assert cached == 1280  # the shared system prefix is ~1,302 tokens
        assert prompt > cached
        short = openai_body(900)
        await cached_of(client, short)
        assert (await cached_of(client, short))[1] == 0  # under 1,024 tokens: never cached
        clock.advance(601)
        assert (await cached_of(client, openai_body(1300)))[1] == 0


async def test_openai_prompt_cache_key_and_retention(catalog: Catalog, clock: FakeClock) -> None:
    async with sim_client(catalog, SimConfig(clock=clock)) as client:
        await cached_of(client, openai_body(2000, prompt_cache_key="a"))
        assert (await cached_of(client, openai_body(2000, prompt_cache_key="b")))[1] == 0
        assert (await cached_of(client, openai_body(2000, prompt_cache_key="a")))[1] == 1920
        day = openai_body(2000, prompt_cache_retention="24h")
        await cached_of(client, day)
        clock.advance(3600)
        assert (await cached_of(client, day))[1] == 1920


async def test_responses_previous_response_id_continues_the_cached_prefix(
    catalog: Catalog,
) -> None:
    first_body = {"model": "gpt-4.1", "input": long_text(1500), "instructions": "Be brief."}
    async with sim_client(catalog) as client:
        first = await client.post("/v1/responses", json=first_body, headers=OPENAI_HEADERS)
        follow = {"model": "gpt-4.1", "input": "And then?", "instructions": "Be brief."}
        follow["previous_response_id"] = first.json()["id"]
        second = await client.post("/v1/responses", json=follow, headers=OPENAI_HEADERS)
        missing = {**follow, "previous_response_id": "resp_nope"}
        unknown = await client.post("/v1/responses", json=missing, headers=OPENAI_HEADERS)
    first_usage, second_usage = first.json()["usage"], second.json()["usage"]
    assert second_usage["input_tokens"] > first_usage["input_tokens"] + first_usage["output_tokens"]
    assert second_usage["input_tokens_details"]["cached_tokens"] >= 1408
    assert unknown.status_code == 404
    assert unknown.json()["error"]["param"] == "previous_response_id"
