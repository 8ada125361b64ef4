"""The official SDKs through a real `aifinops serve` in front of a real `aifinops sim`.

Every route, plain and streamed, with attribution headers: exactly one ledger row per
call, with the right tags, tokens and cost (compared with the pricing engine), and the
SDKs' own exception classes for the gateway's refusals and the upstream's errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from aifinops.pricing import PricingEngine
from aifinops.usage import Usage
from tests.gateway.conftest import Gateway, make_ledger
from tests.gateway.procs import METRICS_TOKEN, Proc, gateway_env, gateway_process

HEADERS = {
    "x-aifinops-feature": "answers",
    "x-aifinops-customer": "acme-42",
    "x-aifinops-prompt-version": "v3",
    "x-aifinops-unit": "ticket-9",
    "x-aifinops-request-id": "req-abc",
    "x-aifinops-tag-env": "prod",
}
USER: Any = [{"role": "user", "content": "How much did the search team spend last week?"}]
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"


@pytest.fixture(scope="module")
def gw(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("gw-sdk")
    engine, db_url, secret, key_id = make_ledger(folder)
    env = gateway_env(sim.url, db_url, folder / "spool", AIFINOPS_MAX_BODY_BYTES="65536")
    try:
        with gateway_process(env, folder / "gateway.log") as proc:
            yield Gateway(proc, engine, secret, key_id, folder, env)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def oai(gw: Gateway) -> Iterator[openai.OpenAI]:
    with gw.openai(default_headers=HEADERS) as client:
        yield client


@pytest.fixture(scope="module")
def ant(gw: Gateway) -> Iterator[anthropic.Anthropic]:
    with gw.anthropic(default_headers=HEADERS) as client:
        yield client


def _row(gw: Gateway, event_id: str) -> dict[str, Any]:
    for _ in range(200):
        rows = [r for r in gw.rows(0, timeout=0) if r["event_id"] == event_id]
        if rows:
            assert len(rows) == 1
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no ledger row for {event_id}")


def _check(row: dict[str, Any], endpoint: str, model: str, usage: Usage) -> None:
    assert row["endpoint"] == endpoint
    assert row["model"] == model and row["requested_model"] == model
    assert (row["team"], row["feature"], row["customer_id"]) == ("search", "answers", "acme-42")
    assert (row["prompt_version"], row["unit_id"], row["request_id"]) == (
        "v3",
        "ticket-9",
        "req-abc",
    )
    assert row["tags"] == {"env": "prod"}
    assert row["status"] == 200 and row["error_type"] is None
    assert not row["usage_estimated"] and not row["unattributed"]
    got = Usage(
        input_tokens=row["input_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_5m_tokens=row["cache_write_5m_tokens"],
        cache_write_1h_tokens=row["cache_write_1h_tokens"],
        output_tokens=row["output_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    assert got == usage
    provider = "anthropic" if model.startswith("claude") else "openai"
    price = PricingEngine().price(
        provider, model, row["ts"], usage, service_tier=row["service_tier"]
    )
    assert price.list_cost_nusd is not None and price.list_cost_nusd > 0
    assert row["list_cost_nusd"] == price.list_cost_nusd
    assert row["effective_cost_nusd"] == price.effective_cost_nusd


def test_openai_chat_plain_and_streamed(gw: Gateway, oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(
        model=OPENAI_MODEL,
        messages=[{"role": "system", "content": "Answer briefly."}, *USER],
        max_tokens=300,
    )
    completion = raw.parse()
    assert completion.usage is not None
    row = _row(gw, raw.headers["x-aifinops-event-id"])
    u = completion.usage
    _check(
        row,
        "chat/completions",
        OPENAI_MODEL,
        Usage(input_tokens=u.prompt_tokens, output_tokens=u.completion_tokens),
    )
    assert raw.headers["x-aifinops-cost-usd"].startswith("0.")
    assert row["max_tokens"] == 300 and row["stop_reason"] == "stop"
    assert row["system_tokens"] == 4 and len(row["system_hash"]) == 64

    same = oai.chat.completions.create(model=OPENAI_MODEL, messages=USER)  # same prompt, same reply
    assert same.usage is not None
    raw_stream = oai.chat.completions.with_raw_response.create(
        model=OPENAI_MODEL, messages=USER, stream=True
    )
    chunks = list(raw_stream.parse())
    # the gateway asked for usage itself, so the client never sees the usage-only chunk
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    streamed = _row(gw, raw_stream.headers["x-aifinops-event-id"])
    expected = Usage(
        input_tokens=same.usage.prompt_tokens, output_tokens=same.usage.completion_tokens
    )
    _check(streamed, "chat/completions", OPENAI_MODEL, expected)
    assert streamed["ttft_ms"] is not None


def test_openai_chat_stream_that_asked_for_usage_keeps_it(gw: Gateway, oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model=OPENAI_MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_openai_responses_plain_and_streamed(gw: Gateway, oai: openai.OpenAI) -> None:
    raw = oai.responses.with_raw_response.create(
        model=OPENAI_MODEL, input="Summarise the bill", instructions="Be terse."
    )
    response = raw.parse()
    assert response.usage is not None
    row = _row(gw, raw.headers["x-aifinops-event-id"])
    u = response.usage
    _check(
        row,
        "responses",
        OPENAI_MODEL,
        Usage(input_tokens=u.input_tokens, output_tokens=u.output_tokens),
    )
    assert row["stop_reason"] == "completed" and row["system_hash"] is not None

    raw_stream = oai.responses.with_raw_response.create(
        model=OPENAI_MODEL, input="Summarise the bill", stream=True
    )
    events = list(raw_stream.parse())
    final = events[-1]
    assert final.type == "response.completed"
    fu = final.response.usage
    assert fu is not None
    row = _row(gw, raw_stream.headers["x-aifinops-event-id"])
    _check(
        row,
        "responses",
        OPENAI_MODEL,
        Usage(input_tokens=fu.input_tokens, output_tokens=fu.output_tokens),
    )


def test_openai_embeddings(gw: Gateway, oai: openai.OpenAI) -> None:
    raw = oai.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["one", "two"]
    )
    result = raw.parse()
    row = _row(gw, raw.headers["x-aifinops-event-id"])
    _check(
        row, "embeddings", "text-embedding-3-small", Usage(input_tokens=result.usage.prompt_tokens)
    )


def test_anthropic_messages_plain_and_streamed(gw: Gateway, ant: anthropic.Anthropic) -> None:
    raw = ant.messages.with_raw_response.create(
        model=ANTHROPIC_MODEL, max_tokens=256, system="You are a FinOps analyst.", messages=USER
    )
    message = raw.parse()
    row = _row(gw, raw.headers["x-aifinops-event-id"])
    u = message.usage
    _check(
        row,
        "messages",
        ANTHROPIC_MODEL,
        Usage(input_tokens=u.input_tokens, output_tokens=u.output_tokens),
    )
    assert row["max_tokens"] == 256 and row["stop_reason"] == "end_turn"
    assert row["system_tokens"] == 7 and row["prefix_hash"] is not None

    raw_stream = ant.messages.with_raw_response.create(
        model=ANTHROPIC_MODEL, max_tokens=256, messages=USER, stream=True
    )
    events = list(raw_stream.parse())
    assert events[-1].type == "message_stop"
    delta = [e for e in events if e.type == "message_delta"][-1]
    start = next(e for e in events if e.type == "message_start")
    row = _row(gw, raw_stream.headers["x-aifinops-event-id"])
    _check(
        row,
        "messages",
        ANTHROPIC_MODEL,
        Usage(
            input_tokens=start.message.usage.input_tokens, output_tokens=delta.usage.output_tokens
        ),
    )


def test_anthropic_count_tokens_is_forwarded_not_recorded(
    gw: Gateway, ant: anthropic.Anthropic
) -> None:
    raw = ant.messages.with_raw_response.count_tokens(model=ANTHROPIC_MODEL, messages=USER)
    assert raw.parse().input_tokens > 0
    assert "x-aifinops-event-id" not in raw.headers


def test_gateway_refusals_raise_the_sdk_classes(gw: Gateway, oai: openai.OpenAI) -> None:
    with (
        gw.openai(api_key="afk_000000000000_nope") as bad,
        pytest.raises(openai.AuthenticationError),
    ):
        bad.chat.completions.create(model=OPENAI_MODEL, messages=USER)
    with (
        gw.anthropic(api_key="not-a-key") as bad_ant,
        pytest.raises(anthropic.AuthenticationError) as info,
    ):
        bad_ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=10, messages=USER)
    assert "x-api-key" in str(info.value)
    with pytest.raises(openai.BadRequestError, match="x-aifinops-unit"):
        oai.chat.completions.create(
            model=OPENAI_MODEL, messages=USER, extra_headers={"x-aifinops-unit": "bad value!"}
        )
    with pytest.raises(openai.APIStatusError) as big:
        oai.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "x" * 70_000}]
        )
    assert big.value.status_code == 413
    with gw.anthropic() as plain_ant, pytest.raises(anthropic.RequestTooLargeError):
        plain_ant.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": "x" * 70_000}],
        )
    reasons = {(r["status"], r["reason"]) for r in gw.rejections(5)}
    assert {(401, "invalid_key"), (400, "invalid_header"), (413, "body_too_large")} <= reasons


def test_upstream_errors_raise_the_sdk_classes_and_are_recorded(
    gw: Gateway, oai: openai.OpenAI, ant: anthropic.Anthropic
) -> None:
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(
            model=OPENAI_MODEL, messages=USER, extra_headers={"x-sim-fault": "429"}
        )
    with pytest.raises(anthropic.RateLimitError):
        ant.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "429"},
        )
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(
            model=OPENAI_MODEL, messages=USER, extra_headers={"x-sim-fault": "500"}
        )
    with pytest.raises(anthropic.InternalServerError) as failed:
        ant.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "500"},
        )
    for exc in (limited.value, failed.value):
        row = _row(gw, exc.response.headers["x-aifinops-event-id"])
        assert row["status"] in (429, 500) and row["error_type"]
        assert row["input_tokens"] == 0 and not row["usage_estimated"]  # errors are not billed


def test_metrics_need_the_token(gw: Gateway) -> None:
    assert httpx.get(f"{gw.url}/metrics").status_code == 401
    page = httpx.get(f"{gw.url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert page.status_code == 200
    assert "aifinops_recorder_events_dropped_total 0.0" in page.text
    assert "aifinops_gateway_requests_total" in page.text


def test_secrets_never_in_the_log(gw: Gateway) -> None:
    log = Path(gw.proc.log).read_text()
    assert "sk-upstream" not in log and gw.key not in log
