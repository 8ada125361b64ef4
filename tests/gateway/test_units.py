"""In-process tests of the gateway's pure parts and its own answers (httpx.ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest

from aifinops.gateway import create_gateway_app
from aifinops.gateway.attribution import parse_attribution
from aifinops.gateway.errors import Rejection
from aifinops.gateway.keys import create_key, hash_key, key_id_of
from aifinops.gateway.shape import request_shape
from aifinops.gateway.spool import Spool
from aifinops.gateway.sse import StreamProcessor
from aifinops.ledger.db import open_ledger
from aifinops.settings import Settings, load_settings


def _chunk(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def test_stream_processor_strips_the_usage_chunk_it_asked_for() -> None:
    proc = StreamProcessor("chat", "openai", strip_usage_chunk=True)
    first = _chunk(
        {"id": "c1", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    )
    last = _chunk({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = _chunk(
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1}}
    )
    whole = first + last + usage + b"data: [DONE]\n\n"
    out = b""
    for i in range(0, len(whole), 7):  # events split across chunks anywhere
        fed = proc.feed(whole[i : i + 7])
        out += fed.output
    assert out == first + last + b"data: [DONE]\n\n"
    assert proc.finished
    result = proc.result()
    assert (result.usage.input_tokens, result.usage.output_tokens) == (5, 1)
    assert result.stop_reason == "stop" and proc.text_bytes == 2


def test_stream_processor_replaces_garbage_with_an_error_event() -> None:
    proc = StreamProcessor("messages", "anthropic", strip_usage_chunk=False)
    fed = proc.feed(b'event: ping\ndata: {"type": "ping"}\n\ndata: {oops\n\n')
    assert fed.terminal and proc.malformed
    assert b'"type":"error"' in fed.output and b"{oops" not in fed.output


def test_shape_signals_hash_but_never_keep_content() -> None:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "system": [
            {"type": "text", "text": "Policy " * 10, "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "text", "data": "d"}},
                    {"type": "tool_result", "tool_use_id": "t", "content": "r"},
                    {"type": "text", "text": "question"},
                ],
            }
        ],
    }
    shape = request_shape("messages", body)
    assert shape.max_tokens == 100 and shape.context_chunks == 2
    assert shape.system_tokens == 18 and shape.system_hash and shape.prefix_hash
    changed = {**body, "messages": [{"role": "user", "content": "other question"}]}
    assert request_shape("messages", changed).prefix_hash == shape.prefix_hash
    assert "Policy" not in repr(shape)


def test_attribution_headers(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    with engine.begin() as conn:
        key, secret = create_key(conn, "search", None, "k")
    assert key_id_of(secret) == key.key_id and key.key_hash == hash_key(secret)
    got = parse_attribution({"x-aifinops-feature": "qa", "x-aifinops-tag-env": "prod"}, key)
    assert got.attribution.team == "search" and got.attribution.tags == {"env": "prod"}
    with pytest.raises(Rejection) as info:
        parse_attribution({"x-aifinops-team": "other"}, key)
    assert info.value.field == "x-aifinops-team"
    with pytest.raises(Rejection, match="x-aifinops-customer"):
        parse_attribution({}, key, ("customer",), "reject")
    assert parse_attribution({}, key, ("customer",), "mark").unattributed
    engine.dispose()


def test_spool_replays_what_a_dead_process_left(tmp_path: Path) -> None:
    left = tmp_path / "spool-1-dead.jsonl"
    left.write_bytes(
        orjson.dumps(
            {"event_id": "ev_1", "ts": "2026-11-01T00:00:00Z", "provider": "openai", "model": "m"}
        )
        + b"\n{cut"
    )
    spool = Spool(tmp_path)
    spool.open()
    adopted = list(spool.adopt_orphans())
    assert [row["event_id"] for _, rows in adopted for row in rows] == ["ev_1"]
    assert spool.corrupt_lines == 1
    segment = adopted[0][0]
    spool.committed(segment, 1)
    assert not left.exists()
    spool.close()


def test_settings_keep_secrets_out_of_repr() -> None:
    settings = load_settings(
        environ={"OPENAI_API_KEY": "sk-secret-1", "AIFINOPS_METRICS_TOKEN": "tok-secret"},
        config_path=None,
    )
    assert "sk-secret-1" not in repr(settings) and "tok-secret" not in repr(settings)
    assert settings.gateway.openai_api_key == "sk-secret-1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    engine = open_ledger(url)
    with engine.begin() as conn:
        _, secret = create_key(conn, "search")
    base = load_settings(
        environ={
            "AIFINOPS_DATABASE_URL": url,
            "AIFINOPS_MAX_BODY_BYTES": "2048",
            "AIFINOPS_METRICS_PUBLIC": "true",
        },
        config_path=None,
    )
    settings: Settings = replace(base, gateway=replace(base.gateway, spool_dir=tmp_path / "spool"))
    app = create_gateway_app(settings, engine=engine)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            yield c, secret
    finally:
        await app.shutdown()
        engine.dispose()


@pytest.mark.anyio
async def test_in_process_refusals(client: tuple[httpx.AsyncClient, str]) -> None:
    c, secret = client
    assert (await c.get("/healthz")).json()["status"] == "ok"
    assert "aifinops_gateway_rejections" in (await c.get("/metrics")).text
    r = await c.post("/anthropic/v1/messages", json={"model": "m"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = await c.post(
        "/openai/v1/chat/completions",
        content=b"x" * 5000,
        headers={"authorization": f"Bearer {secret}"},
    )
    assert r.status_code == 413
    r = await c.post(
        "/openai/v1/embeddings", content=b"{", headers={"authorization": f"Bearer {secret}"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_recorder_notes_when_it_last_wrote(tmp_path: Path) -> None:
    import asyncio
    from datetime import UTC, datetime

    from aifinops.gateway.metrics import GatewayMetrics
    from aifinops.gateway.recorder import Recorder
    from aifinops.gateway.spool import Spool
    from aifinops.ledger.db import open_ledger
    from aifinops.pricing import PricingEngine
    from aifinops.usage import Usage, UsageEvent

    async def run() -> Recorder:
        engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        recorder = Recorder(engine, PricingEngine(), Spool(tmp_path / "spool"), GatewayMetrics())
        await recorder.start()
        assert recorder.last_write_at is None
        event = UsageEvent(
            event_id="e1",
            ts=datetime.now(UTC),
            provider="openai",
            model="gpt-4o-mini",
            usage=Usage(10, output_tokens=5),
        )
        recorder.record(event)
        await recorder.stop()
        engine.dispose()
        return recorder

    before = datetime.now(UTC)
    recorder = asyncio.run(run())
    assert recorder.written == 1
    assert recorder.last_write_at is not None and recorder.last_write_at >= before
    # the metrics count the call's tokens and its priced cost: 10 in at $0.15/M + 5 out at
    # $0.60/M = $0.0000045
    text = recorder.metrics.render().decode()
    assert 'aifinops_gateway_cost_usd_total{feature="",model="gpt-4o-mini",team=""} 4.5e-06' in text
    assert 'kind="output",model="gpt-4o-mini",team=""} 5.0' in text
