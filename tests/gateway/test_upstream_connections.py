"""The gateway's upstream connections: kept alive across streamed calls, cut when the
client leaves mid-stream.

A TCP relay between the gateway and the simulator counts the connections the gateway
opens. Streamed calls read to their end go back to the pool like plain ones (before,
every streamed call closed its upstream connection and the next one opened a new one);
a client that hangs up mid-stream stops the upstream call, and the call is recorded as
``client_disconnected`` with its output estimated.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.procs import Proc, sim_process
from tests.gateway.tcprelay import TcpRelay, tcp_relay

USER = [{"role": "user", "content": "Where did the support budget go this month?"}]


def _relayed(gateway_factory: Any, relay: TcpRelay) -> Gateway:
    upstream = f"http://127.0.0.1:{relay.port}"
    gw: Gateway = gateway_factory(
        AIFINOPS_OPENAI_BASE_URL=f"{upstream}/v1", AIFINOPS_ANTHROPIC_BASE_URL=upstream
    )
    return gw


@pytest.fixture
def relay(sim: Proc) -> Iterator[TcpRelay]:
    port = int(sim.url.rsplit(":", 1)[1])
    with tcp_relay("127.0.0.1", port) as r:
        yield r


def test_streamed_calls_reuse_the_upstream_connection(
    gateway_factory: Any, relay: TcpRelay
) -> None:
    relay.split_body_end = True  # the stream's last event arrives before its end
    gw = _relayed(gateway_factory, relay)
    oai, ant = gw.openai(), gw.anthropic()
    for _ in range(8):
        assert list(oai.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
        assert list(oai.responses.create(model="gpt-4o-mini", input="Summarise", stream=True))
        with ant.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=USER) as stream:
            assert stream.get_final_message().usage.output_tokens > 0
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    rows = gw.rows(32)
    assert len(rows) == 32
    assert all(r["error_type"] is None and not r["usage_estimated"] for r in rows)
    # one after the other, the 32 calls share a few upstream connections (the next
    # call may come while the last one still reads its upstream's end, 20 ms late here,
    # and takes another); closing each streamed call's connection made 25 (24 + 1)
    assert relay.accepted <= 4, relay.accepted


def _read_until(sock: socket.socket, marker: bytes, count: int = 1, limit: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + limit
    while seen.count(marker) < count:
        assert time.monotonic() < deadline, seen[-500:]
        chunk = sock.recv(65536)
        assert chunk, seen[-500:]
        seen += chunk
    return seen


def test_a_client_leaving_mid_stream_stops_the_upstream_call(
    gateway_factory: Any, tmp_path: Path
) -> None:
    # a simulator that streams at a model's real token rate: 4,000 tokens take seconds
    with sim_process(tmp_path, "--latency-profile", "realistic") as slow:
        port = int(slow.url.rsplit(":", 1)[1])
        with tcp_relay("127.0.0.1", port) as relay:
            gw = _relayed(gateway_factory, relay)
            host, gw_port = gw.url.removeprefix("http://").split(":")
            body = (
                b'{"model":"gpt-4o-mini","stream":true,"messages":'
                b'[{"role":"user","content":"Write the long version"}]}'
            )
            request = (
                b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
                b"Authorization: Bearer " + gw.key.encode() + b"\r\n"
                b"x-sim-output-tokens: 4000\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            started = time.monotonic()
            with socket.create_connection((host, int(gw_port))) as client:
                client.sendall(request)
                head = _read_until(client, b"data: ", count=10)  # some text, then gone
                assert b" 200 " in head.split(b"\r\n", 1)[0]
                event_id = head.split(b"x-aifinops-event-id: ", 1)[1].split(b"\r\n")[0]
            # the gateway notices and closes its upstream connection well before the
            # simulator would have finished the 4,000 tokens
            deadline = time.monotonic() + 5
            while relay.closed < relay.accepted and time.monotonic() < deadline:
                time.sleep(0.05)
            assert relay.accepted == 1
            assert relay.closed == 1, "the upstream call went on after the client left"
            rows = gw.rows(1)
            assert time.monotonic() - started < 8
            assert len(rows) == 1
            row = rows[0]
            assert row["event_id"] == event_id.decode()
            assert row["error_type"] == "client_disconnected"
            assert row["usage_estimated"] is True
            assert row["input_tokens"] > 0
            assert 0 < row["output_tokens"] < 4000
            # and the gateway goes on serving
            answer = gw.openai().chat.completions.create(model="gpt-4o-mini", messages=USER)
            assert answer.usage is not None and answer.usage.total_tokens > 0
