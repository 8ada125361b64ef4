"""The live part of `aifinops demo`: simulator + gateway, the company's calls driven live.

Starts `aifinops sim` and `aifinops serve` as real processes on 127.0.0.1 (the gateway on
the demo's SQLite ledger), creates a gateway key per team, prints where to point an SDK,
then replays the company's most recent calls through the gateway with real HTTP requests
until Ctrl-C (or ``--live-calls`` calls), printing what reaches the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from aifinops.cli.common import fail
from aifinops.gateway.keys import create_key
from aifinops.ledger.schema import usage_events
from aifinops.money import nusd_to_usd
from aifinops.sim.company import TEAMS
from aifinops.sim.company.live import LiveCall, call_for

_LAUNCH = "from aifinops.cli import main; main()"
_UPSTREAM_KEY = "sk-demo-upstream"
RECENT_CALLS = 2_000
CONCURRENCY = 4


@dataclass
class LiveStats:
    sent: int = 0
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)


def _wait_line(proc: subprocess.Popen[str], marker: str, log: Path) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if marker not in line:
        proc.kill()
        what = marker.split(maxsplit=1)[0]
        fail(f"could not start {what}: {line.strip()} {log.read_text()[-1500:]}")
    return line.split("listening on ")[1].split()[0]


@contextlib.contextmanager
def _process(args: list[str], env: Mapping[str, str], log: Path, marker: str) -> Iterator[str]:
    with log.open("a") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *args],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env={**os.environ, **env},
        )
    try:
        yield _wait_line(proc, marker, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def recent_calls(events_file: Path, keep: int = RECENT_CALLS) -> list[LiveCall]:
    """The live requests of the last ``keep`` successful calls of the events file."""
    tail: deque[bytes] = deque(maxlen=keep)
    with events_file.open("rb") as stream:
        tail.extend(stream)
    calls = (call_for(orjson.loads(line)) for line in tail)
    return [c for c in calls if c is not None]


def _team_keys(engine: Engine) -> dict[str, str]:
    keys = {}
    with engine.begin() as conn:
        for team in TEAMS:
            _, secret = create_key(conn, team=team.name, name="aifinops demo")
            keys[team.name] = secret
    return keys


async def _send(
    session: aiohttp.ClientSession, base: str, call: LiveCall, key: str, stats: LiveStats
) -> None:
    auth = (
        {"x-api-key": key} if call.provider == "anthropic" else {"authorization": f"Bearer {key}"}
    )
    async with session.post(
        base + call.path, json=call.body, headers={**call.headers, **auth}
    ) as response:
        await response.read()
        if response.status < 400:
            stats.ok += 1
        else:
            stats.errors[response.status] = stats.errors.get(response.status, 0) + 1


async def drive(
    base: str,
    calls: list[LiveCall],
    keys: Mapping[str, str],
    limit: int | None,
    rate: float,
    stats: LiveStats,
) -> None:
    """Send calls (cycling) at about ``rate`` per second; ``limit`` None means until cancelled."""
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        for call in itertools.islice(itertools.cycle(calls), limit):
            await gate.acquire()
            task = asyncio.create_task(_send(session, base, call, keys[call.team], stats))
            task.add_done_callback(lambda _t: gate.release())
            pending.add(task)
            task.add_done_callback(pending.discard)
            stats.sent += 1
            delay = started + stats.sent / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*pending)


def _ledger_line(engine: Engine, stats: LiveStats, since: float) -> str:
    with engine.connect() as conn:
        rows, cost = conn.execute(
            select(func.count(), func.coalesce(func.sum(usage_events.c.effective_cost_nusd), 0))
            .where(usage_events.c.api_key_id.is_not(None))
            .where(usage_events.c.ts >= datetime.fromtimestamp(since, tz=UTC))
        ).one()
    errors = ", ".join(f"{n}×{status}" for status, n in sorted(stats.errors.items())) or "none"
    return (
        f"live: {stats.sent:,} sent, {stats.ok:,} answered, errors {errors}; "
        f"{int(rows):,} recorded in the ledger, ${nusd_to_usd(int(cost))}"
    )


def run_live(
    directory: Path,
    db_url: str,
    engine: Engine,
    events_file: Path,
    *,
    port: int,
    limit: int | None,
    rate: float,
    console: Console,
) -> LiveStats:
    """Start the simulator and the gateway, drive the calls, stop both; returns the stats."""
    calls = recent_calls(events_file)
    keys = _team_keys(engine)
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    sim_env = {"AIFINOPS_CONFIG": ""}
    with _process(
        ["sim", "--port", "0", "--api-key", _UPSTREAM_KEY],
        sim_env,
        logs / "sim.log",
        "listening on",
    ) as sim_url:
        gateway_env = {
            "AIFINOPS_DATABASE_URL": db_url,
            "AIFINOPS_SPOOL_DIR": str(directory / "spool"),
            "AIFINOPS_OPENAI_BASE_URL": f"{sim_url}/v1",
            "AIFINOPS_ANTHROPIC_BASE_URL": sim_url,
            "OPENAI_API_KEY": _UPSTREAM_KEY,
            "ANTHROPIC_API_KEY": _UPSTREAM_KEY,
        }
        with _process(
            ["serve", "--port", str(port)],
            gateway_env,
            logs / "gateway.log",
            "gateway listening on",
        ) as gateway_url:
            _print_pointers(console, gateway_url, keys, sim_url)
            since = time.time() - 1
            stats = _drive_with_progress(
                gateway_url, calls, keys, limit, rate, engine, since, console
            )
            time.sleep(1.5)  # the recorder writes in batches: let the last one land
            console.print(_ledger_line(engine, stats, since))
    return stats


def _drive_with_progress(
    base: str,
    calls: list[LiveCall],
    keys: Mapping[str, str],
    limit: int | None,
    rate: float,
    engine: Engine,
    since: float,
    console: Console,
) -> LiveStats:
    stats = LiveStats()

    async def main() -> None:
        task = asyncio.create_task(drive(base, calls, keys, limit, rate, stats))
        while not task.done():
            await asyncio.wait({task}, timeout=10)
            if not task.done():
                console.print(_ledger_line(engine, stats, since))
        task.result()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        console.print("stopping the demo (Ctrl-C)")
    return stats


def _print_pointers(console: Console, url: str, keys: Mapping[str, str], sim_url: str) -> None:
    team, key = next(iter(keys.items()))
    console.print(
        f"\nThe gateway is live at {url} (upstream: the simulator at {sim_url}).\n"
        "Point an SDK at it:\n"
        f'  openai.OpenAI(base_url="{url}/openai/v1", api_key="{key}")\n'
        f'  anthropic.Anthropic(base_url="{url}/anthropic", api_key="{key}")\n'
        f"  (a gateway key of team {team}; add x-aifinops-feature / -customer headers)\n"
        "Replaying the company's recent calls through it; Ctrl-C stops the demo.\n",
        soft_wrap=True,
    )


__all__ = ["LiveStats", "drive", "recent_calls", "run_live"]
