"""Bad input gets a clear error in the provider's shape, and the gateway keeps serving."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import Gateway

USER = [{"role": "user", "content": "hello"}]


def test_bad_requests_each_get_a_clear_error(gateway: Gateway) -> None:
    auth = {"authorization": f"Bearer {gateway.key}", "content-type": "application/json"}
    url = gateway.url
    with httpx.Client(timeout=10) as client:
        r = client.post(f"{url}/openai/v1/chat/completions", content=b"{not json", headers=auth)
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
        r = client.post(f"{url}/openai/v1/chat/completions", content=b"[1, 2]", headers=auth)
        assert r.status_code == 400 and "JSON object" in r.json()["error"]["message"]
        r = client.post(f"{url}/openai/v1/chat/completions", json={"messages": USER}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["message"].startswith("model:")
        r = client.post(f"{url}/openai/v1/completions", json={"model": "x"}, headers=auth)
        assert r.status_code == 404 and "chat/completions" in r.json()["error"]["message"]
        r = client.post(f"{url}/anthropic/v1/complete", json={}, headers=auth)
        assert r.status_code == 404 and r.json()["type"] == "error"
        r = client.get(f"{url}/nowhere")
        assert r.status_code == 404
        r = client.get(f"{url}/openai/v1/chat/completions", headers=auth)
        assert r.status_code == 405
        for header, value in (
            ("x-aifinops-feature", "has space"),
            ("x-aifinops-customer", "x" * 201),
            ("x-aifinops-tag-Bad!", "v"),
            ("x-aifinops-teem", "typo"),
        ):
            r = client.post(
                f"{url}/openai/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": USER},
                headers={**auth, header: value},
            )
            assert r.status_code == 400, header
            assert header.lower() in r.json()["error"]["message"]
    reasons = [r["reason"] for r in gateway.rejections(11)]
    assert reasons.count("invalid_header") == 4 and "invalid_json" in reasons
    assert gateway.rows(0, timeout=0) == []  # refusals are not model calls


def test_upstream_garbage_is_a_clear_error(gateway: Gateway) -> None:
    fault = {"x-sim-fault": "malformed-sse"}
    with gateway.openai() as oai, pytest.raises(openai.APIError, match="invalid event"):
        list(
            oai.chat.completions.create(
                model="gpt-4o-mini", messages=USER, stream=True, extra_headers=fault
            )
        )  # type: ignore[arg-type]
    with gateway.anthropic() as ant, pytest.raises(anthropic.APIStatusError, match="invalid event"):
        list(
            ant.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=USER,
                stream=True,
                extra_headers=fault,
            )
        )  # type: ignore[arg-type]
    with gateway.openai() as oai:
        assert oai.chat.completions.create(model="gpt-4o-mini", messages=USER).choices  # type: ignore[arg-type]
    rows = gateway.rows(3)
    assert [r["error_type"] for r in rows[:2]] == ["upstream_malformed_stream"] * 2
    assert all(r["usage_estimated"] for r in rows[:2])
    assert rows[2]["error_type"] is None


def test_truncated_stream_is_recorded_as_estimated(gateway: Gateway) -> None:
    with gateway.openai() as oai:
        chunks = list(
            oai.chat.completions.create(
                model="gpt-4o-mini",
                messages=USER,
                stream=True,
                extra_headers={"x-sim-fault": "truncated-stream"},  # type: ignore[arg-type]
            )
        )
    assert chunks
    (row,) = gateway.rows(1)
    assert row["error_type"] == "stream_truncated" and row["usage_estimated"]
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
