"""Token counts, limits and stop reasons, reasoning tokens and service tiers."""

from __future__ import annotations

from typing import Any

import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim.generate import WORDS, plan_reply, reply_text
from aifinops.sim.models import is_openai_reasoning
from aifinops.sim.tokens import Transcript, count_tokens
from tests.sim.conftest import ANTHROPIC_HEADERS, OPENAI_HEADERS, chat, message, sim_client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2), ("x" * 4000, 1000), ("日本語", 3), ("é", 1)],
)
def test_count_tokens_is_four_utf8_bytes_a_token(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens


def test_reply_text_has_exactly_the_tokens_asked_for() -> None:
    assert len(set(WORDS)) == 64  # one word per 6 bits of the generator's stream
    assert all(len(w) == 3 for w in WORDS)
    for n in (1, 2, 17, 200):
        text = reply_text(b"seed", n)
        assert count_tokens(text) == n
        assert len(text.split(" ")) == n
    cut = reply_text(b"seed", 50, cut=10)
    assert reply_text(b"seed", 50).startswith(cut)
    assert count_tokens(cut) == 10


def test_plan_reply_spends_reasoning_inside_the_limit() -> None:
    plan = plan_reply(b"d", natural=100, reasoning=30, limit=50)
    assert (plan.reasoning_tokens, plan.visible_tokens, plan.truncated) == (30, 20, True)
    starved = plan_reply(b"d", natural=100, reasoning=80, limit=50)
    assert (starved.reasoning_tokens, starved.visible_tokens, starved.text) == (50, 0, "")
    free = plan_reply(b"d", natural=40, reasoning=0, limit=None)
    assert (free.output_tokens, free.truncated) == (40, False)


def test_transcript_prefix_digests_match_whole_digests() -> None:
    t = Transcript()
    t.write("abcdefgh")
    t.end_block("text")
    t.write("ijkl")
    other = Transcript()
    other.write("abcdefgh")
    assert t.prefix_digests([8])[8] == other.prefix_digests([8])[8]
    assert t.prefix_digests([8, 12])[12] != other.prefix_digests([8])[8]


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o1", True),
        ("o3-mini", True),
        ("o4-mini", True),
        ("gpt-5", True),
        ("gpt-5.1-codex-mini", True),
        ("gpt-6-sol", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o", False),
        ("gpt-4.1-nano", False),
    ],
)
def test_reasoning_family_rule(model: str, reasoning: bool) -> None:
    assert is_openai_reasoning(model) is reasoning


async def _chat(catalog: Catalog, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    async with sim_client(catalog) as client:
        r = await client.post(
            "/v1/chat/completions", json=body, headers={**OPENAI_HEADERS, **headers}
        )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_prompt_tokens_follow_the_rendering_rule(catalog: Catalog) -> None:
    body = chat("x" * 400)
    result = await _chat(catalog, body)
    # "<user>" + 400 bytes + "\n" + "<assistant>" = 418 bytes -> 105 tokens
    assert result["usage"]["prompt_tokens"] == 105
    longer = await _chat(catalog, chat("x" * 800))
    assert longer["usage"]["prompt_tokens"] == 205


async def test_same_prompt_same_reply_and_output_override(catalog: Catalog) -> None:
    first = await _chat(catalog, chat("deterministic?"))
    again = await _chat(catalog, chat("deterministic?"))
    assert first["choices"][0]["message"]["content"] == again["choices"][0]["message"]["content"]
    forced = await _chat(catalog, chat("deterministic?"), **{"x-sim-output-tokens": "42"})
    assert forced["usage"]["completion_tokens"] == 42
    assert count_tokens(forced["choices"][0]["message"]["content"]) == 42


async def test_max_tokens_truncates_with_length(catalog: Catalog) -> None:
    result = await _chat(catalog, chat(max_tokens=7), **{"x-sim-output-tokens": "100"})
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 7


async def test_reasoning_model_spends_reasoning_inside_max_completion_tokens(
    catalog: Catalog,
) -> None:
    body = chat(model="o4-mini", max_completion_tokens=200, reasoning_effort="low")
    result = await _chat(catalog, body, **{"x-sim-output-tokens": "100"})
    usage = result["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 128
    assert usage["completion_tokens"] == 200
    assert result["choices"][0]["finish_reason"] == "length"
    high = await _chat(catalog, chat(model="o4-mini", reasoning_effort="high"))
    assert high["usage"]["completion_tokens_details"]["reasoning_tokens"] == 1024
    plain = await _chat(catalog, chat(model="gpt-4o"))
    assert plain["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_reasoning_model_rejects_max_tokens(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post(
            "/v1/chat/completions", json=chat(model="o3", max_tokens=10), headers=OPENAI_HEADERS
        )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "max_tokens"
    assert r.json()["error"]["code"] == "unsupported_parameter"


async def test_stop_sequence_and_n_choices(catalog: Catalog) -> None:
    base = await _chat(catalog, chat("stops"), **{"x-sim-output-tokens": "30"})
    words = base["choices"][0]["message"]["content"].split(" ")
    stop = " " + words[5]
    stopped = await _chat(catalog, chat("stops", stop=[stop]), **{"x-sim-output-tokens": "30"})
    content = stopped["choices"][0]["message"]["content"]
    assert stop not in content
    assert stopped["choices"][0]["finish_reason"] == "stop"
    assert stopped["usage"]["completion_tokens"] == count_tokens(content) < 30
    two = await _chat(catalog, chat("stops", n=2), **{"x-sim-output-tokens": "10"})
    assert [c["index"] for c in two["choices"]] == [0, 1]
    assert two["usage"]["completion_tokens"] == 20


@pytest.mark.parametrize(
    ("asked", "echoed"),
    [(None, "default"), ("auto", "default"), ("flex", "flex"), ("fast", "priority")],
)
async def test_openai_service_tier_echo(catalog: Catalog, asked: str | None, echoed: str) -> None:
    body = chat() if asked is None else chat(service_tier=asked)
    assert (await _chat(catalog, body))["service_tier"] == echoed


async def test_forced_tool_call(catalog: Catalog) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_budget",
            "parameters": {
                "type": "object",
                "properties": {"team": {"type": "string"}, "month": {"type": "integer"}},
                "required": ["team", "month"],
            },
        },
    }
    result = await _chat(catalog, chat(tools=[tool], tool_choice="required"))
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_budget", "arguments": '{"team":"sim","month":1}'}


async def test_responses_max_output_tokens_gives_incomplete(catalog: Catalog) -> None:
    body = {"model": "gpt-5-mini", "input": "Hi", "max_output_tokens": 100}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/responses", json=body, headers=OPENAI_HEADERS)
    result = r.json()
    assert result["status"] == "incomplete"
    assert result["incomplete_details"] == {"reason": "max_output_tokens"}
    assert result["usage"]["output_tokens"] == 100
    assert result["usage"]["output_tokens_details"]["reasoning_tokens"] == 100
    assert [item["type"] for item in result["output"]] == ["reasoning"]


async def test_responses_stream_ends_incomplete_when_cut(catalog: Catalog) -> None:
    body = {"model": "gpt-4o", "input": "Hi", "max_output_tokens": 16, "stream": True}
    async with sim_client(catalog) as client:
        r = await client.post(
            "/v1/responses", json=body, headers={**OPENAI_HEADERS, "x-sim-output-tokens": "50"}
        )
    assert "event: response.incomplete" in r.text
    assert "event: response.completed" not in r.text


async def test_anthropic_max_tokens_and_stop_sequence(catalog: Catalog) -> None:
    headers = {**ANTHROPIC_HEADERS, "x-sim-output-tokens": "60"}
    async with sim_client(catalog) as client:
        cut = (
            await client.post("/v1/messages", json=message(max_tokens=9), headers=headers)
        ).json()
        full = (await client.post("/v1/messages", json=message(), headers=headers)).json()
        stop = " " + full["content"][0]["text"].split(" ")[3]
        stopped = await client.post(
            "/v1/messages", json=message(stop_sequences=[stop]), headers=headers
        )
    assert (cut["stop_reason"], cut["usage"]["output_tokens"]) == ("max_tokens", 9)
    assert (full["stop_reason"], full["usage"]["output_tokens"]) == ("end_turn", 60)
    assert stopped.json()["stop_reason"] == "stop_sequence"
    assert stopped.json()["stop_sequence"] == stop


async def test_anthropic_thinking_counts_inside_output(catalog: Catalog) -> None:
    body = message(max_tokens=3000, thinking={"type": "enabled", "budget_tokens": 2000})
    headers = {**ANTHROPIC_HEADERS, "x-sim-output-tokens": "20"}
    async with sim_client(catalog) as client:
        high = (await client.post("/v1/messages", json=body, headers=headers)).json()
        low = {**body, "output_config": {"effort": "low"}}
        low_result = (await client.post("/v1/messages", json=low, headers=headers)).json()
    assert [b["type"] for b in high["content"]] == ["thinking", "text"]
    assert high["usage"]["output_tokens_details"] == {"thinking_tokens": 1024}
    assert high["usage"]["output_tokens"] == 1024 + 20
    assert count_tokens(high["content"][0]["thinking"]) == 1024
    assert low_result["usage"]["output_tokens_details"] == {"thinking_tokens": 128}


async def test_anthropic_prewarm_with_zero_max_tokens(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=message(max_tokens=0), headers=ANTHROPIC_HEADERS)
    result = r.json()
    assert (result["content"], result["stop_reason"]) == ([], "max_tokens")
    assert result["usage"]["output_tokens"] == 0


async def test_anthropic_echoes_inference_geo_and_speed(catalog: Catalog) -> None:
    body = message(inference_geo="us", speed="fast", service_tier="standard_only")
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    usage = r.json()["usage"]
    assert (usage["inference_geo"], usage["speed"], usage["service_tier"]) == (
        "us",
        "fast",
        "standard",
    )
