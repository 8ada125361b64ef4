"""Fault rules (file format, determinism) and each fault's effect on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim import SimConfig, create_sim_app
from aifinops.sim.faults import (
    FaultConfigError,
    FaultPlan,
    FaultRule,
    FaultState,
    load_fault_plan,
    parse_fault_plan,
)
from tests.sim.conftest import (
    ANTHROPIC_HEADERS,
    OPENAI_HEADERS,
    FakeClock,
    chat,
    message,
    sim_client,
    sse_events,
    sse_json,
)

pytestmark = pytest.mark.anyio

EXAMPLE = """
seed: 7
hang_seconds: 30
retry_after: 2
rules:
  - fault: "429"
    models: ["gpt-4o*"]
    every: 3
  - fault: truncated-stream
    routes: [/v1/messages]
    first: 1
  - fault: "529"
    providers: [anthropic]
    rate: 0.25
"""


def test_load_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text(EXAMPLE)
    plan = load_fault_plan(yaml_file)
    assert (plan.seed, plan.hang_seconds, plan.retry_after) == (7, 30.0, 2.0)
    assert plan.rules[0] == FaultRule(fault="429", models=("gpt-4o*",), every=3, retry_after=2.0)
    assert plan.rules[1].routes == ("/v1/messages",)
    json_file = tmp_path / "faults.json"
    json_file.write_text(json.dumps({"rules": [{"fault": "500", "rate": 0.5}]}))
    assert load_fault_plan(json_file).rules[0].rate == 0.5


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rules": [{"fault": "418", "every": 1}]}, "faults.rules[0].fault: '418' is not a fault"),
        ({"rules": [{"fault": "500"}]}, "faults.rules[0]: give exactly one of 'rate'"),
        ({"rules": [{"fault": "500", "rate": 2}]}, "faults.rules[0].rate: must be between 0 and 1"),
        ({"rules": [{"fault": "500", "every": 0}]}, "faults.rules[0].every: must be at least 1"),
        ({"rules": [{"fault": "500", "every": 1, "routes": ["/v2/x"]}]}, "unknown value '/v2/x'"),
        ({"rules": [{"fault": "latency", "every": 1}]}, "needs delay_ms > 0"),
        ({"rules": [{"fault": "500", "every": 1, "colour": 1}]}, "faults.rules[0].colour"),
        ({"hang": 3}, "faults.hang: unknown key"),
        ([1, 2], "faults: must be a mapping"),
    ],
)
def test_invalid_documents_name_the_field(document: Any, message: str) -> None:
    with pytest.raises(FaultConfigError, match=None) as caught:
        parse_fault_plan(document)
    assert message in str(caught.value)


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [")
    with pytest.raises(FaultConfigError, match=r"broken\.yaml: not valid"):
        load_fault_plan(broken)


def _fired(plan: FaultPlan, n: int, model: str = "gpt-4o", stream: bool = False) -> list[str]:
    state = FaultState(plan)
    out = []
    for _ in range(n):
        fault = state.choose("/v1/chat/completions", "openai", model, stream)
        out.append(fault.kind if fault else "-")
    return out


def test_every_first_and_rate_are_deterministic() -> None:
    every = FaultPlan(rules=(FaultRule("500", every=3),))
    assert _fired(every, 7) == ["-", "-", "500", "-", "-", "500", "-"]
    first = FaultPlan(rules=(FaultRule("429", first=2),))
    assert _fired(first, 4) == ["429", "429", "-", "-"]
    rate = FaultPlan(rules=(FaultRule("500", rate=0.3),), seed=11)
    runs = [_fired(rate, 200) for _ in range(2)]
    assert runs[0] == runs[1]
    assert 30 <= runs[0].count("500") <= 90
    other_seed = FaultPlan(rules=(FaultRule("500", rate=0.3),), seed=12)
    assert _fired(other_seed, 200) != runs[0]


def test_rules_match_models_and_stream_only_faults_skip_plain_requests() -> None:
    plan = FaultPlan(rules=(FaultRule("500", models=("claude-*",), every=1),))
    assert _fired(plan, 2) == ["-", "-"]
    assert _fired(plan, 1, model="claude-opus-5") == ["500"]
    cut = FaultPlan(rules=(FaultRule("truncated-stream", every=1),))
    assert _fired(cut, 1) == ["-"]
    assert _fired(cut, 1, stream=True) == ["truncated-stream"]


async def test_configured_429_carries_retry_after(catalog: Catalog) -> None:
    plan = FaultPlan(rules=(FaultRule("429", every=2, retry_after=3.5),))
    async with sim_client(catalog, SimConfig(clock=FakeClock(), faults=plan)) as client:
        ok = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
        limited = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
    assert ok.status_code == 200
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3.5"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("fault", "path", "headers", "status", "kind"),
    [
        ("500", "/v1/chat/completions", OPENAI_HEADERS, 500, "server_error"),
        ("overloaded", "/v1/chat/completions", OPENAI_HEADERS, 503, "server_error"),
        ("529", "/v1/messages", ANTHROPIC_HEADERS, 529, "overloaded_error"),
        ("overloaded", "/v1/messages", ANTHROPIC_HEADERS, 529, "overloaded_error"),
        ("500", "/v1/messages", ANTHROPIC_HEADERS, 500, "api_error"),
        ("429", "/v1/messages", ANTHROPIC_HEADERS, 429, "rate_limit_error"),
    ],
)
async def test_status_faults_use_the_provider_shape(
    catalog: Catalog, fault: str, path: str, headers: dict[str, str], status: int, kind: str
) -> None:
    body = chat() if path.endswith("completions") else message()
    async with sim_client(catalog) as client:
        r = await client.post(path, json=body, headers={**headers, "x-sim-fault": fault})
    assert r.status_code == status
    error = r.json()["error"]
    assert error["type"] == kind
    assert r.headers["x-should-retry"] == "true"


async def test_truncated_stream_never_sends_usage(catalog: Catalog) -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    headers = {**OPENAI_HEADERS, "x-sim-fault": "truncated-stream", "x-sim-output-tokens": "40"}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/chat/completions", json=body, headers=headers)
        anthropic = await client.post(
            "/v1/messages",
            json=message(stream=True),
            headers={**ANTHROPIC_HEADERS, "x-sim-fault": "truncated-stream"},
        )
    chunks = sse_json(r.text)
    assert 1 < len(chunks) < 40
    assert all(c.get("usage") is None for c in chunks)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert "[DONE]" not in r.text
    names = [name for name, _ in sse_events(anthropic.text)]
    assert names[0] == "message_start"
    assert "message_delta" not in names and "message_stop" not in names


async def test_malformed_sse_has_an_undecodable_event(catalog: Catalog) -> None:
    headers = {**ANTHROPIC_HEADERS, "x-sim-fault": "malformed-sse"}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=message(stream=True), headers=headers)
    data = [d for _, d in sse_events(r.text)]
    json.loads(data[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[-1])


async def test_stream_only_fault_on_plain_request_is_a_clear_400(catalog: Catalog) -> None:
    headers = {**OPENAI_HEADERS, "x-sim-fault": "truncated-stream"}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/chat/completions", json=chat(), headers=headers)
        bad = await client.post(
            "/v1/chat/completions", json=chat(), headers={**OPENAI_HEADERS, "x-sim-fault": "boom"}
        )
    assert r.status_code == 400
    assert "applies only to streaming requests" in r.json()["error"]["message"]
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("x-sim-fault: unknown fault 'boom'")


async def test_timeout_hangs_on_the_clock_then_answers(catalog: Catalog) -> None:
    clock = FakeClock()
    config = SimConfig(clock=clock, faults=FaultPlan(hang_seconds=42))
    async with sim_client(catalog, config) as client:
        r = await client.post(
            "/v1/chat/completions",
            json=chat(),
            headers={**OPENAI_HEADERS, "x-sim-fault": "timeout"},
        )
    assert clock.sleeps == [42]
    assert r.status_code == 200


async def test_latency_rule_sleeps_its_delay(catalog: Catalog) -> None:
    clock = FakeClock()
    plan = FaultPlan(rules=(FaultRule("latency", every=1, delay_ms=1500),))
    async with sim_client(catalog, SimConfig(clock=clock, faults=plan)) as client:
        r = await client.post(
            "/v1/embeddings",
            json={"model": "text-embedding-3-small", "input": "x"},
            headers=OPENAI_HEADERS,
        )
    assert r.status_code == 200
    assert clock.sleeps == [1.5]


async def _drive(app: Any, body: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    """Run one request through the raw ASGI app and return every message it sent."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "server": ("sim", 80),
        "client": ("test", 1),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(msg: Any) -> None:
        sent.append(dict(msg))

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("stream", [False, True])
async def test_reset_leaves_the_response_unfinished(catalog: Catalog, stream: bool) -> None:
    app = create_sim_app(SimConfig(clock=FakeClock()), catalog=catalog)
    headers = {**OPENAI_HEADERS, "x-sim-fault": "reset", "content-type": "application/json"}
    sent = await _drive(app, chat(stream=stream), headers)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert bodies
    assert all(m["more_body"] for m in bodies)  # never finished: the server must cut it
    if not stream:
        length = int(dict(sent[0]["headers"])[b"content-length"])
        assert 0 < len(bodies[0]["body"]) < length
