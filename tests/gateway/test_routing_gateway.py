"""Routing through a real `aifinops serve`: eval scores in the ledger, policies in the
config, the official SDKs sending ``model: "auto"`` (or a model, under ``enforce``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest
import yaml

from aifinops.optimize.evals import EvalRecord, write_evals
from tests.gateway.conftest import Gateway, make_ledger
from tests.gateway.procs import Proc, gateway_env, gateway_process
from tests.gateway.relay import Relay, relay_to

TRIAGE = ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o-mini"]
ROUTING = [
    {
        "feature": "triage",
        "candidates": TRIAGE,
        "quality_bar": {"baseline_model": "claude-opus-4-1", "max_drop": 0.02},
    },
    {
        "feature": "drafts",
        "mode": "enforce",
        "candidates": ["gpt-4.1", "gpt-4o-mini"],
        "quality_bar": {"min_score": 0.95},
    },
    {
        "feature": "hard",
        "candidates": ["claude-haiku-4-5"],
        "quality_bar": {"min_score": 0.99},
    },
    {
        "feature": "hard-with-fallback",
        "candidates": ["claude-haiku-4-5"],
        "quality_bar": {"min_score": 0.99},
        "fallback": "claude-sonnet-4-5",
    },
]
SCORES = {
    ("triage", "claude-opus-4-1"): "0.96",
    ("triage", "claude-sonnet-4-5"): "0.96",
    ("triage", "claude-haiku-4-5"): "0.95",
    ("triage", "gpt-4o-mini"): "0.99",
    ("drafts", "gpt-4.1"): "0.90",
    ("drafts", "gpt-4o-mini"): "0.80",
    ("hard", "claude-haiku-4-5"): "0.90",
    ("hard-with-fallback", "claude-haiku-4-5"): "0.90",
}
USER: Any = [{"role": "user", "content": "Which queue does this ticket go to?"}]


@pytest.fixture(scope="module")
def relay(sim: Proc) -> Iterator[Relay]:
    with relay_to(sim.url) as r:
        yield r


@pytest.fixture(scope="module")
def gw(relay: Relay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("gw-routing")
    config = folder / "aifinops.yaml"
    config.write_text(yaml.safe_dump({"routing": ROUTING}))
    engine, db_url, secret, key_id = make_ledger(folder)
    records = [
        EvalRecord(f, m, "v1", "accuracy", Decimal(s), 300, None) for (f, m), s in SCORES.items()
    ]
    write_evals(engine, records, "test")
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


def _row(gw: Gateway, event_id: str) -> dict[str, Any]:
    for _ in range(200):
        rows = [r for r in gw.rows(0, timeout=0) if r["event_id"] == event_id]
        if rows:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no ledger row for {event_id}")


def test_auto_routes_to_the_cheapest_model_meeting_the_bar(gw: Gateway, relay: Relay) -> None:
    with gw.anthropic(default_headers={"x-aifinops-feature": "triage"}) as client:
        raw = client.messages.with_raw_response.create(model="auto", max_tokens=30, messages=USER)
        assert relay.last()["model"] == "claude-haiku-4-5"
        assert raw.parse().model.startswith("claude-haiku-4-5")
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["requested_model"] == "auto" and row["model"] == "claude-haiku-4-5"
        assert row["route_reason"] == (
            "routing: cheapest candidate meeting the bar claude-opus-4-1 0.96 - 0.02 = 0.94: "
            "claude-haiku-4-5 0.95"
        )
        # mode auto: a concrete model is left alone
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=30, messages=USER
        )
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["route_reason"] is None and row["requested_model"] == "claude-haiku-4-5"


def test_enforce_with_no_candidate_meeting_the_bar_keeps_the_model(
    gw: Gateway, relay: Relay
) -> None:
    with gw.openai(default_headers={"x-aifinops-feature": "drafts"}) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4.1-mini", messages=USER)
        assert relay.last()["model"] == "gpt-4.1-mini"
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["model"] == row["requested_model"] == "gpt-4.1-mini"
        assert row["route_reason"] == (
            "routing: no candidate meets the bar 0.95 (gpt-4.1: below the bar; "
            "gpt-4o-mini: below the bar)"
        )


def test_auto_without_a_qualifying_candidate_takes_the_fallback(gw: Gateway, relay: Relay) -> None:
    headers = {"x-aifinops-feature": "hard-with-fallback"}
    with gw.anthropic(default_headers=headers) as client:
        raw = client.messages.with_raw_response.create(model="auto", max_tokens=30, messages=USER)
        assert relay.last()["model"] == "claude-sonnet-4-5"
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert row["requested_model"] == "auto" and row["model"] == "claude-sonnet-4-5"
        assert row["route_reason"] == (
            "routing: fallback claude-sonnet-4-5: no candidate meets the bar 0.99 "
            "(claude-haiku-4-5: below the bar)"
        )


def test_auto_without_a_qualifying_candidate_or_policy_is_refused(gw: Gateway) -> None:
    with (
        gw.anthropic(default_headers={"x-aifinops-feature": "hard"}) as client,
        pytest.raises(anthropic.BadRequestError, match=r"routing\[2\]") as caught,
    ):
        client.messages.create(model="auto", max_tokens=30, messages=USER)
    assert "Set routing[2].fallback" in str(caught.value)
    with (
        gw.openai(default_headers={"x-aifinops-feature": "unknown"}) as oai,
        pytest.raises(openai.BadRequestError, match="no routing policy for feature 'unknown'"),
    ):
        oai.chat.completions.create(model="auto", messages=USER)
    reasons = {r["reason"] for r in gw.rejections(2)}
    assert {"routing_no_candidate", "no_routing_policy"} <= reasons


def test_each_route_considers_only_its_own_providers_models(gw: Gateway, relay: Relay) -> None:
    with gw.openai(default_headers={"x-aifinops-feature": "triage"}) as client:
        raw = client.chat.completions.with_raw_response.create(model="auto", messages=USER)
        assert relay.last()["model"] == "gpt-4o-mini"
        row = _row(gw, raw.headers["x-aifinops-event-id"])
        assert (row["requested_model"], row["model"]) == ("auto", "gpt-4o-mini")
