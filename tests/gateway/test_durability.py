"""The recorder under a database outage and a gateway killed with requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from pathlib import Path

import httpx

from tests.gateway.conftest import Gateway
from tests.gateway.procs import gateway_process, stop

USER = [{"role": "user", "content": "What did we spend on search?"}]


def _chat(gateway: Gateway, client: httpx.Client) -> str:
    r = client.post(
        f"{gateway.url}/openai/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": USER},
        headers={"authorization": f"Bearer {gateway.key}"},
    )
    assert r.status_code == 200, r.text
    return r.headers["x-aifinops-event-id"]


def test_a_locked_database_never_fails_or_slows_a_call(gateway: Gateway) -> None:
    db = Path(str(gateway.engine.url.database))
    ids: list[str] = []
    with httpx.Client(timeout=10) as client:
        ids.append(_chat(gateway, client))
        assert len(gateway.rows(1)) == 1
        lock = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            slowest = 0.0
            for _ in range(60):
                started = time.monotonic()
                ids.append(_chat(gateway, client))
                slowest = max(slowest, time.monotonic() - started)
            health = client.get(f"{gateway.url}/healthz").json()
            assert health["queue_depth"] > 0  # waiting for the ledger, not failing
            assert slowest < 1.0, slowest  # the database is locked for all of them
            time.sleep(1)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
    rows = gateway.rows(len(ids), timeout=20)
    assert sorted(r["event_id"] for r in rows) == sorted(ids)
    metrics = httpx.get(
        f"{gateway.url}/metrics",
        headers={"authorization": f"Bearer {gateway.env['AIFINOPS_METRICS_TOKEN']}"},
    ).text
    assert "aifinops_recorder_events_dropped_total 0.0" in metrics


async def _one(
    client: httpx.AsyncClient, gateway: Gateway, i: int, done: list[str], kill: asyncio.Event
) -> None:
    try:
        if i % 2:
            r = await client.post(
                f"{gateway.url}/openai/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"n{i}"}]},
                headers={"authorization": f"Bearer {gateway.key}"},
            )
            if r.status_code == 200 and r.json()["choices"]:
                done.append(r.headers["x-aifinops-event-id"])
        else:
            body = {
                "model": "claude-haiku-4-5",
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": f"n{i}"}],
            }
            headers = {"x-api-key": gateway.key, "anthropic-version": "2023-06-01"}
            async with client.stream(
                "POST", f"{gateway.url}/anthropic/v1/messages", json=body, headers=headers
            ) as r:
                text = "".join([chunk async for chunk in r.aiter_text()])
                if r.status_code == 200 and "message_stop" in text:
                    done.append(r.headers["x-aifinops-event-id"])
    except httpx.HTTPError:
        return
    if len(done) >= 150:
        kill.set()


async def _load(gateway: Gateway, done: list[str]) -> None:
    kill = asyncio.Event()
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = [asyncio.create_task(_one(client, gateway, i, done, kill)) for i in range(500)]
        # on a loaded machine, kill -9 after 60 s with whatever has completed by then
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(kill.wait(), 60)
        gateway.proc.proc.send_signal(signal.SIGKILL)
        await asyncio.gather(*tasks)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def test_kill_9_in_flight_then_restart_loses_and_doubles_nothing(gateway: Gateway) -> None:
    writers = _children(gateway.proc.proc.pid)  # the recorder's ledger writer process
    assert len(writers) == 1, writers
    done: list[str] = []
    asyncio.run(_load(gateway, done))
    stop(gateway.proc.proc, hard=True)
    deadline = time.monotonic() + 30  # its stdin closed with the gateway: it exits too
    while Path(f"/proc/{writers[0]}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{writers[0]}").exists(), "the ledger writer outlived the gateway"
    # some calls completed before the kill, and others were still in flight
    assert 20 <= len(done) < 500, f"{len(done)} calls completed before the kill"
    with gateway_process(gateway.env, gateway.folder / "gateway2.log"):
        deadline = time.monotonic() + 60  # replaying the spool on a loaded machine
        while True:
            rows = gateway.rows(0, timeout=0)
            ids = [r["event_id"] for r in rows]
            if set(done) <= set(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    missing = set(done) - set(ids)
    assert not missing, f"{len(missing)} completed calls have no ledger row"
    assert len(ids) == len(set(ids)) and len(ids) <= 500
