"""Bad requests get each provider's own error shape, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim import SimConfig
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
    ("body", "status", "message_text"),
    [
        (
            {k: v for k, v in message().items() if k != "max_tokens"},
            400,
            "max_tokens: Field required",
        ),
        ({k: v for k, v in message().items() if k != "messages"}, 400, "messages: Field required"),
        ({k: v for k, v in message().items() if k != "model"}, 400, "model: Field required"),
        (message(max_tokens=-1), 400, "max_tokens: Input should be greater than or equal to 0"),
        (message(messages=[]), 400, "messages: at least one message is required"),
        (
            message(messages=[{"role": "robot", "content": "x"}]),
            400,
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            message(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
            400,
            "text content blocks must be non-empty",
        ),
        (
            message(thinking={"type": "enabled", "budget_tokens": 500}),
            400,
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            message(max_tokens=1500, thinking={"type": "enabled", "budget_tokens": 2000}),
            400,
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (message(max_tokens=0, stream=True), 400, "max_tokens: 0 is only allowed"),
        (message(model="claude-nope-9"), 404, "model: claude-nope-9"),
        (
            message("x" * 4 * 200_001, model="claude-3-haiku-20240307"),
            400,
            # 800,004 bytes of text + 20 bytes of role headers and priming
            "prompt is too long: 200006 tokens > 200000 maximum",
        ),
    ],
)
async def test_anthropic_errors(
    catalog: Catalog, body: dict[str, Any], status: int, message_text: str
) -> None:
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert r.status_code == status
    payload = r.json()
    assert payload["type"] == "error"
    assert payload["request_id"] == r.headers["request-id"]
    expected = "not_found_error" if status == 404 else "invalid_request_error"
    assert payload["error"]["type"] == expected
    assert message_text in payload["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, 400, "model", None),
        ({"model": "gpt-4o"}, 400, "messages", "missing_required_parameter"),
        (chat(messages=[]), 400, "messages", "empty_array"),
        (
            chat(messages=[{"role": "robot", "content": "x"}]),
            400,
            "messages[0].role",
            "invalid_value",
        ),
        (
            chat(messages=[{"role": "user"}]),
            400,
            "messages[0].content",
            "missing_required_parameter",
        ),
        (chat(max_tokens=0), 400, "max_tokens", "integer_below_min_value"),
        (chat(max_tokens="ten"), 400, "max_tokens", "invalid_type"),
        (chat(stream_options={"include_usage": True}), 400, "stream_options", "invalid_value"),
        (chat(service_tier="gold"), 400, "service_tier", "invalid_value"),
        (chat(model="gpt-nope"), 404, None, "model_not_found"),
        (chat(model="text-embedding-3-small"), 404, "model", None),
        (chat("x" * 4 * 130_000, model="gpt-4o"), 400, "messages", "context_length_exceeded"),
    ],
)
async def test_openai_chat_errors(
    catalog: Catalog, body: dict[str, Any], status: int, param: str | None, code: str | None
) -> None:
    async with sim_client(catalog) as client:
        r = await client.post("/v1/chat/completions", json=body, headers=OPENAI_HEADERS)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"]


async def test_openai_other_route_errors(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        short = await client.post(
            "/v1/responses",
            json={"model": "gpt-4o", "input": "x", "max_output_tokens": 5},
            headers=OPENAI_HEADERS,
        )
        no_input = await client.post(
            "/v1/responses", json={"model": "gpt-4o"}, headers=OPENAI_HEADERS
        )
        chat_model = await client.post(
            "/v1/embeddings", json={"model": "gpt-4o", "input": "x"}, headers=OPENAI_HEADERS
        )
        ada_dims = await client.post(
            "/v1/embeddings",
            json={"model": "text-embedding-ada-002", "input": "x", "dimensions": 8},
            headers=OPENAI_HEADERS,
        )
        empty = await client.post(
            "/v1/embeddings",
            json={"model": "text-embedding-3-small", "input": ""},
            headers=OPENAI_HEADERS,
        )
    assert short.json()["error"]["code"] == "integer_below_min_value"
    assert no_input.json()["error"]["param"] == "input"
    assert chat_model.status_code == 400 and chat_model.json()["error"]["param"] == "model"
    assert ada_dims.json()["error"]["param"] == "dimensions"
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"


async def test_authentication(catalog: Catalog) -> None:
    keyed = SimConfig(clock=FakeClock(), api_keys=frozenset({"sk-good-key-1234"}))
    async with sim_client(catalog) as client:
        no_key = await client.post("/v1/chat/completions", json=chat())
        no_ant_key = await client.post(
            "/v1/messages", json=message(), headers={"anthropic-version": "2023-06-01"}
        )
        no_version = await client.post(
            "/v1/messages", json=message(), headers={"x-api-key": "sk-ant"}
        )
        bearer = await client.post(
            "/v1/messages",
            json=message(),
            headers={"authorization": "Bearer t", "anthropic-version": "2023-06-01"},
        )
    async with sim_client(catalog, keyed) as client:
        wrong = await client.post(
            "/v1/chat/completions", json=chat(), headers={"authorization": "Bearer sk-bad-key-9876"}
        )
        right = await client.post(
            "/v1/chat/completions",
            json=chat(),
            headers={"authorization": "Bearer sk-good-key-1234"},
        )
        wrong_ant = await client.post(
            "/v1/messages", json=message(), headers={**ANTHROPIC_HEADERS, "x-api-key": "nope"}
        )
    assert no_key.status_code == 401
    assert "didn't provide an API key" in no_key.json()["error"]["message"]
    assert no_ant_key.status_code == 401
    assert no_ant_key.json()["error"]["type"] == "authentication_error"
    assert no_version.status_code == 400
    assert no_version.json()["error"]["message"] == "anthropic-version: header is required"
    assert bearer.status_code == 200
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-***9876" in wrong.json()["error"]["message"]
    assert right.status_code == 200
    assert wrong_ant.json()["error"] == {
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }


async def test_bad_json_unknown_route_and_method(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        bad_json = await client.post(
            "/v1/chat/completions", content=b"{nope", headers=OPENAI_HEADERS
        )
        bad_ant = await client.post("/v1/messages", content=b"[1]", headers=ANTHROPIC_HEADERS)
        unknown = await client.post("/v1/completions", json={}, headers=OPENAI_HEADERS)
        wrong_method = await client.get("/v1/chat/completions", headers=OPENAI_HEADERS)
        unknown_ant = await client.post("/v1/files", json={}, headers=ANTHROPIC_HEADERS)
        health = await client.get("/healthz")
    assert bad_json.status_code == 400
    assert "could not parse the JSON body" in bad_json.json()["error"]["message"]
    assert bad_ant.json()["error"]["type"] == "invalid_request_error"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (POST /v1/completions)"
    assert wrong_method.status_code == 405
    assert unknown_ant.json() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "Not Found"},
        "request_id": "req_none",
    }
    assert health.json() == {"status": "ok"}


async def test_output_override_header_is_validated(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post(
            "/v1/chat/completions",
            json=chat(),
            headers={**OPENAI_HEADERS, "x-sim-output-tokens": "lots"},
        )
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("x-sim-output-tokens: expected a whole number")
