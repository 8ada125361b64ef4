"""`aifinops serve --workers 2`: both worker processes serve and record, each call is one
ledger row, and SIGTERM shuts down cleanly with nothing left in the spools.

Which worker served a call is read from the spools: each worker appends every call it
serves to its own segment, named ``spool-<pid>-…``, which stays until shutdown."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from aifinops.ledger.schema import usage_events
from tests.gateway.conftest import make_ledger
from tests.gateway.procs import SERVE_LAUNCH, Proc, _start, gateway_env

CALLS = 300


async def _calls(url: str, key: str) -> list[str]:
    # a new connection per call, so the kernel hands them to both workers' accept()
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(i: int) -> str:
            if i % 2:
                r = await client.post(
                    f"{url}/openai/v1/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"authorization": f"Bearer {key}"},
                )
            else:
                r = await client.post(
                    f"{url}/anthropic/v1/messages",
                    json={
                        "model": "claude-haiku-4-5",
                        "max_tokens": 16,
                        "messages": [{"role": "user", "content": "hi"}],
                    },
                    headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                )
            assert r.status_code == 200, r.text
            return r.headers["x-aifinops-event-id"]

        return await asyncio.gather(*(one(i) for i in range(CALLS)))


def _spool_lines_by_pid(spool: Path) -> Counter[str]:
    """Lines in each live process's spool segments (named ``spool-<pid>-…``)."""
    lines: Counter[str] = Counter()
    for path in spool.glob("spool-*.jsonl"):
        lines[path.name.split("-")[1]] += path.read_bytes().count(b"\n")
    return lines


def test_two_workers_serve_record_and_stop_cleanly(sim: Proc, tmp_path: Path) -> None:
    engine, db_url, key, _ = make_ledger(tmp_path)
    spool = tmp_path / "spool"
    config = tmp_path / "aifinops.yaml"  # the port from the file, the option beats workers: 1
    config.write_text("gateway:\n  port: 0\n  workers: 1\n")
    env = gateway_env(sim.url, db_url, spool, AIFINOPS_CONFIG=str(config))
    args = [SERVE_LAUNCH, "serve", "--workers", "2"]
    proc = _start(args, env, tmp_path / "gateway.log", "gateway listening on")
    try:
        deadline = time.monotonic() + 60  # /healthz answered: one worker is up; the other?
        while len(_spool_lines_by_pid(spool)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # each worker opens its spool segment at start-up
        ids = asyncio.run(_calls(proc.url, key))
        by_pid = _spool_lines_by_pid(spool)  # the active segments: every call each served
        assert sum(by_pid.values()) == CALLS, by_pid
        assert len(by_pid) == 2 and min(by_pid.values()) > 0, f"one worker idle: {by_pid}"
        assert str(proc.proc.pid) not in by_pid  # the supervisor serves nothing
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=30) == 0, proc.tail()
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()
        if proc.proc.stdout is not None:
            proc.proc.stdout.close()
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(select(usage_events.c.event_id))]
    engine.dispose()
    assert sorted(rows) == sorted(ids) and len(set(ids)) == CALLS  # one row per call
    assert not list(spool.glob("*.jsonl")), "events left in the spool after a clean stop"
    assert "Traceback" not in proc.tail(), proc.tail()
