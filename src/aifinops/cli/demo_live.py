"""The live part of `aifinops demo`: simulator + gateway, the company's calls driven live.

Starts a webhook receiver for budget alerts in this process (`aifinops.cli.demo_alerts`),
then `aifinops sim` and `aifinops serve` as real processes on 127.0.0.1: the gateway on
the demo's SQLite ledger, with the company's ``aifinops.yaml`` (so its budgets apply) and
its alerts evaluated every few seconds and delivered, signed, to the receiver. Creates a
gateway key per team and an admin API token, prints where to point an SDK, then replays
the company's most recent calls through the gateway with real HTTP requests until Ctrl-C
(or ``--live-calls`` calls), printing what reaches the ledger, the calls the budgets
throttled or refused (429), and each alert as the receiver gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from aifinops.cli.common import fail
from aifinops.cli.demo_alerts import AlertReceiver
from aifinops.cli.serve import ensure_admin_token
from aifinops.gateway.keys import create_key
from aifinops.governance.budgets import Budget
from aifinops.governance.channels import money
from aifinops.governance.status import budgets_status
from aifinops.ledger.schema import usage_events
from aifinops.money import nusd_to_usd
from aifinops.sim.company import TEAMS
from aifinops.sim.company.live import LiveCall, call_for

_LAUNCH = "from aifinops.cli import main; main()"
_UPSTREAM_KEY = "sk-demo-upstream"
RECENT_CALLS = 2_000
CONCURRENCY = 4
#: Seconds for the recorder's last batch to reach the ledger.
RECORDER_WAIT_S = 1.5


@dataclass
class LiveStats:
    sent: int = 0
    ok: int = 0
    #: failed calls by HTTP status, or ``no answer`` (the gateway unreachable, a timeout)
    errors: Counter[str] = field(default_factory=Counter)
    #: 429s of the gateway's budgets and rate limits, by (what: throttled, blocked or
    #: rate-limited; team). They are governance at work, not errors.
    limited: Counter[tuple[str, str]] = field(default_factory=Counter)


def governance_refusal(status: int, body: bytes) -> str | None:
    """What a gateway 429 was (``throttled``, ``blocked``, ``rate-limited``), from its
    message (`aifinops.governance.guard`); None for any other answer."""
    if status != 429:
        return None
    if b"over its hard limit" in body:
        return "throttled" if b"throttled to" in body else "blocked"
    if b"rate limit" in body and b"reached" in body:
        return "rate-limited"
    return None  # e.g. the upstream's own 429: an error


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


def _no_slack() -> dict[str, str]:
    """Blank every Slack webhook of the environment: the demo's synthetic alerts go to its
    own receiver, never to a real channel."""
    return {k: "" for k in os.environ if k.startswith("AIFINOPS_SLACK_WEBHOOK_URL")}


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
    try:
        async with session.post(
            base + call.path, json=call.body, headers={**call.headers, **auth}
        ) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        stats.errors["no answer"] += 1
        return
    refusal = governance_refusal(response.status, body)
    if response.status < 400:
        stats.ok += 1
    elif refusal is not None:
        stats.limited[(refusal, call.team)] += 1
    else:
        stats.errors[str(response.status)] += 1


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
        f"live: {stats.sent:,} sent, {stats.ok:,} answered, {_limited(stats)}, "
        f"errors {errors}; {int(rows):,} recorded in the ledger, {money(nusd_to_usd(int(cost)))}"
    )


def _limited(stats: LiveStats) -> str:
    """``12 throttled (success 12)`` per kind, or ``none throttled``."""
    parts = []
    for what in sorted({what for what, _ in stats.limited}):
        teams = sorted((t, n) for (w, t), n in stats.limited.items() if w == what)
        total = sum(n for _, n in teams)
        parts.append(f"{total:,} {what} ({', '.join(f'{t} {n:,}' for t, n in teams)})")
    return ", ".join(parts) or "none throttled"


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
    budgets: Sequence[Budget] = (),
    alert_interval_s: float = 5.0,
) -> LiveStats:
    """Start the alert receiver, the simulator and the gateway, drive the calls, stop all
    three; returns the stats. ``budgets`` are those of ``directory/aifinops.yaml``."""
    calls = recent_calls(events_file)
    keys = _team_keys(engine)
    admin_token = ensure_admin_token(engine)
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    secret = secrets.token_urlsafe(32)

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    with (
        AlertReceiver(secret, logs / "webhook.jsonl", say) as receiver,
        _process(
            ["sim", "--port", "0", "--api-key", _UPSTREAM_KEY],
            {"AIFINOPS_CONFIG": ""},
            logs / "sim.log",
            "listening on",
        ) as sim_url,
    ):
        gateway_env = {
            **_no_slack(),
            "AIFINOPS_CONFIG": str(directory / "aifinops.yaml"),
            "AIFINOPS_DATABASE_URL": db_url,
            "AIFINOPS_SPOOL_DIR": str(directory / "spool"),
            "AIFINOPS_OPENAI_BASE_URL": f"{sim_url}/v1",
            "AIFINOPS_ANTHROPIC_BASE_URL": sim_url,
            "OPENAI_API_KEY": _UPSTREAM_KEY,
            "ANTHROPIC_API_KEY": _UPSTREAM_KEY,
            "AIFINOPS_ALERT_WEBHOOK_URL": receiver.url,
            "AIFINOPS_ALERT_WEBHOOK_SECRET": secret,
            "AIFINOPS_ALERT_INTERVAL_S": f"{alert_interval_s:g}",
        }
        with _process(
            ["serve", "--port", str(port)],
            gateway_env,
            logs / "gateway.log",
            "gateway listening on",
        ) as gateway_url:
            _print_pointers(console, gateway_url, keys, sim_url, admin_token)
            _print_governance(console, engine, budgets, receiver.url, alert_interval_s)
            receiver.release()  # alerts that came in during start-up, then each as it comes
            since = time.time() - 1
            stats = _drive_with_progress(
                gateway_url, calls, keys, limit, rate, engine, since, console
            )
            time.sleep(RECORDER_WAIT_S)  # the recorder writes in batches: let the last land
            if limit is not None:  # a bounded run: one more evaluation sees the last calls
                time.sleep(alert_interval_s + 1)
            console.print(_ledger_line(engine, stats, since), soft_wrap=True)
        console.print(receiver.summary(), markup=False, soft_wrap=True)
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
                console.print(_ledger_line(engine, stats, since), soft_wrap=True)
        task.result()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        console.print("stopping the demo (Ctrl-C)")
    return stats


def _print_pointers(
    console: Console, url: str, keys: Mapping[str, str], sim_url: str, admin_token: str | None
) -> None:
    """The dashboard's URL first, then the admin token, then where to point an SDK.

    The admin token appears on this console only (the processes' logs never see it);
    the one-click link carries it in the URL's fragment, which a browser never sends."""
    team, key = next(iter(keys.items()))
    if admin_token:
        login = (
            f"  sign in with the admin API token below, or in one click: "
            f"{url}/login#token={admin_token}\n"
            f"Admin API token of this demo's ledger (shown once; more with "
            f"`aifinops tokens create --role …`):\n  {admin_token}\n"
            f'The API: curl -H "Authorization: Bearer {admin_token}" {url}/api/v1/budgets/status\n'
        )
    else:
        login = "  sign in with an admin API token (`aifinops tokens create --role admin`)\n"
    console.print(
        f"\nThe dashboard: {url}/\n"
        f"{login}"
        f"The gateway is live at {url} (upstream: the simulator at {sim_url}).\n"
        "Point an SDK at it:\n"
        f'  openai.OpenAI(base_url="{url}/openai/v1", api_key="{key}")\n'
        f'  anthropic.Anthropic(base_url="{url}/anthropic", api_key="{key}")\n'
        f"  (a gateway key of team {team}; add x-aifinops-feature / -customer headers)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _print_governance(
    console: Console,
    engine: Engine,
    budgets: Sequence[Budget],
    receiver_url: str,
    interval_s: float,
) -> None:
    with engine.connect() as conn:
        rows = budgets_status(conn, budgets)
    by_id = {b.id: b for b in budgets}
    over = [
        f"{r['budget_id']} → {r['action']}"
        + (
            f" ({by_id[r['budget_id']].throttle_rpm} requests a minute, the rest get a 429)"
            if r["action"] == "throttle"
            else ""
        )
        for r in rows
        if r["state"] == "over_hard_limit"
    ]
    console.print(
        f"Budgets apply ({len(rows)} in aifinops.yaml); over the hard limit now: "
        f"{'; '.join(over) or 'none'}.\n"
        f"Alerts are evaluated every {interval_s:g} s and delivered, signed, to the demo's "
        f"webhook receiver at {receiver_url}: each one is an ALERT line below.\n"
        "Replaying the company's recent calls through the gateway; Ctrl-C stops the demo.\n",
        soft_wrap=True,
    )


__all__ = ["LiveStats", "drive", "governance_refusal", "recent_calls", "run_live"]
