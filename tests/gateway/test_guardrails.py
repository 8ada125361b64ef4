"""Guardrails through a real `aifinops serve`: the official SDKs as clients, the simulator
as upstream behind a recording relay, so each test sees exactly what the provider got."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import yaml

from tests.gateway.conftest import Gateway, make_ledger
from tests.gateway.procs import Proc, gateway_env, gateway_process
from tests.gateway.relay import Relay, relay_to

GUARDRAILS = [
    {"feature": "capped", "max_tokens": 16, "cache_system_prompt": True},
    {"feature": "strict", "max_context_chunks": 2, "context_chunks_action": "refuse"},
    {"feature": "loose", "max_context_chunks": 2},
]
USER: Any = [{"role": "user", "content": "Summarise the ticket in one line."}]
LONG_SYSTEM = "You triage support tickets for a CRM. " * 480  # 18,240 bytes ≈ 4,560 tokens


@pytest.fixture(scope="module")
def relay(sim: Proc) -> Iterator[Relay]:
    with relay_to(sim.url) as r:
        yield r


@pytest.fixture(scope="module")
def gw(relay: Relay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("gw-guardrails")
    config = folder / "aifinops.yaml"
    config.write_text(yaml.safe_dump({"guardrails": GUARDRAILS}))
    engine, db_url, secret, key_id = make_ledger(folder)
    env = gateway_env(
        relay.url,
        db_url,
        folder / "spool",
        AIFINOPS_CONFIG=str(config),
        AIFINOPS_OPENAI_BASE_URL=f"{relay.url}/v1",
        AIFINOPS_ANTHROPIC_BASE_URL=relay.url,
    )
    try:
        with gateway_process(env, folder / "gateway.log") as proc:
            yield Gateway(proc, engine, secret, key_id, folder, env)
    finally:
        engine.dispose()


def _headers(feature: str) -> dict[str, str]:
    return {"x-aifinops-feature": feature}


def _row(gw: Gateway, event_id: str) -> dict[str, Any]:
    for _ in range(200):
        rows = [r for r in gw.rows(0, timeout=0) if r["event_id"] == event_id]
        if rows:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no ledger row for {event_id}")


def test_openai_chat_gets_max_completion_tokens_when_none_was_sent(
    gw: Gateway, relay: Relay
) -> None:
    with gw.openai(default_headers=_headers("capped")) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
        sent = relay.last()
        assert sent == {"model": "gpt-4o-mini", "messages": USER, "max_completion_tokens": 16}
        completion = raw.parse()
        assert completion.usage is not None and completion.usage.completion_tokens <= 16
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["guardrails"] == ["max_tokens:16"] and row["max_tokens"] == 16

        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=USER, max_tokens=50
        )
        assert relay.last() == {"model": "gpt-4o-mini", "messages": USER, "max_tokens": 50}
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["guardrails"] is None and row["max_tokens"] == 50


def test_openai_responses_gets_max_output_tokens(gw: Gateway, relay: Relay) -> None:
    with gw.openai(default_headers=_headers("capped")) as client:
        raw = client.responses.with_raw_response.create(model="gpt-4o-mini", input="Hello there")
        assert relay.last() == {
            "model": "gpt-4o-mini",
            "input": "Hello there",
            "max_output_tokens": 16,
        }
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["guardrails"] == ["max_tokens:16"] and row["max_tokens"] == 16


def test_no_policy_means_the_body_is_untouched(gw: Gateway, relay: Relay) -> None:
    with gw.openai(default_headers=_headers("elsewhere")) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
        assert relay.last() == {"model": "gpt-4o-mini", "messages": USER}
        assert _row(gw, raw.headers["x-aifinops-event-id"])["guardrails"] is None


def test_anthropic_long_repeated_system_prompt_gets_cache_control(
    gw: Gateway, relay: Relay
) -> None:
    model = "claude-haiku-4-5"  # minimum cacheable prefix 4,096 tokens
    with gw.anthropic(default_headers=_headers("capped")) as client:

        def call() -> tuple[dict[str, Any], dict[str, Any]]:
            raw = client.messages.with_raw_response.create(
                model=model, max_tokens=20, system=LONG_SYSTEM, messages=USER
            )
            return relay.last(), _row(gw, raw.headers["x-aifinops-event-id"])

        first_sent, first = call()
        assert first_sent["system"] == LONG_SYSTEM  # first sighting: not yet "stable"
        assert first["guardrails"] is None and first["cache_write_5m_tokens"] == 0
        second_sent, second = call()
        assert second_sent == {
            "model": model,
            "max_tokens": 20,
            "system": [
                {"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": USER,
        }
        assert second["guardrails"] == ["cache_control:system"]
        assert second["cache_write_5m_tokens"] > 4096
        _, third = call()
        assert third["cache_read_tokens"] == second["cache_write_5m_tokens"]

        short = client.messages.with_raw_response.create(
            model=model, max_tokens=20, system="Be brief.", messages=USER
        )
        client.messages.create(model=model, max_tokens=20, system="Be brief.", messages=USER)
        assert relay.last()["system"] == "Be brief."  # too short to cache
        assert _row(gw, short.headers["x-aifinops-event-id"])["guardrails"] is None


def _documents(n: int) -> Any:
    docs = [
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": f"doc {i}"},
        }
        for i in range(n)
    ]
    return [{"role": "user", "content": [*docs, {"type": "text", "text": "Which applies?"}]}]


def test_context_chunks_over_the_limit_are_refused(gw: Gateway, relay: Relay) -> None:
    before = len(relay.received)
    with gw.anthropic(default_headers=_headers("strict")) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=_documents(3))
        assert "3 context chunks" in str(caught.value) and "limit of 2" in str(caught.value)
        assert "guardrails[1].max_context_chunks" in str(caught.value)
        assert len(relay.received) == before  # never forwarded
        client.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=_documents(2))
    rejected = [r for r in gw.rejections(1) if r["reason"] == "context_chunks_limit"]
    assert len(rejected) == 1 and rejected[0]["status"] == 400


def test_context_chunks_over_the_limit_warn(gw: Gateway, relay: Relay) -> None:
    with gw.anthropic(default_headers=_headers("loose")) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=20, messages=_documents(3)
        )
        assert raw.headers["x-aifinops-guardrail-warning"] == "context_chunks 3 > 2"
        assert relay.last()["messages"] == _documents(3)  # forwarded unchanged
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["guardrails"] == ["context_chunks_warn:3>2"] and row["context_chunks"] == 3


def test_openai_sdk_error_class_on_refusal(gw: Gateway) -> None:
    tools: Any = [
        {"role": "user", "content": "look it up"},
        *(
            {"role": "user", "content": [{"type": "file", "file": {"file_id": f"file-{i}"}}]}
            for i in range(3)
        ),
    ]
    with (
        gw.openai(default_headers=_headers("strict")) as client,
        pytest.raises(openai.BadRequestError, match="3 context chunks"),
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=tools)
