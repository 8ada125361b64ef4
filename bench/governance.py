"""Governance overhead: what budget and rate-limit checks add to a request, side by side in one run.

    .venv/bin/python bench/governance.py [--iterations 50000] [--warmup 5000] [--rounds 5]
                                         [--duration 8] [--e2e-warmup 2] [--repeat 3]
                                         [--clients 1,16] [--redis-url URL] [--no-e2e]

Issue 7's goal: with 5 budgets covering a request, the budget and rate-limit checks add
≤ 50 µs in-process; with Redis, one round trip before the call and one after it.

1. In-process, in this process on one event loop, sequential requests: per request
   `await guard.check(request)` then `await guard.settle(decision, price, tokens)`, timed
   with perf_counter_ns, for
   - `AllowAll` (no guard at all: the floor),
   - a `BudgetGuard` with no budgets (what `aifinops serve` runs when none are set),
   - a `BudgetGuard` whose 4 budgets and 1 rate limit do not cover the request,
   - a `BudgetGuard` with 5 budgets covering it (team, feature, customer, gateway key,
     org: monthly, weekly, daily and UTC+2 periods, effective and list cost) and 2 rate
     limits (team rpm + tpm, key rpm), on `MemoryCounters` and on `RedisCounters`.
   Each guard is started as the gateway starts it (budgets loaded, the seeding read
   from a SQLite ledger, its background jobs running), warmed up, then measured in
   --rounds interleaved rounds of --iterations / --rounds requests (the order rotated
   each round). The report gives the median, p50 and p99 per request in µs, check and
   settle apart, the CPU per request, and the added latency = the median minus
   `AllowAll`'s. Budgets are never reached, so every request is admitted and settled;
   at the end each counter must hold exactly the cost of every request and nothing
   in flight. Redis round trips are then counted over a separate pass of 1,000
   requests: the writes redis-py makes (each command or pipeline is one write followed
   by reading its replies) in check and in settle, and, on the server, the INFO
   commandstats deltas (server-wide: other clients of the same Redis would add to them).
2. End to end through the real gateway: one `aifinops sim --latency-profile zero`
   upstream and three `aifinops serve` processes (1 worker each, SQLite ledger, a gateway
   key of team `bench`, feature `gateway-bench`, every request with `x-aifinops-customer:
   acme-42`): without budgets; with the same 5 covering budgets and 2 rate limits from
   the config file, counters in memory; the same with counters in Redis
   (AIFINOPS_REDIS_URL, a prefix of its own). wrk (bench/gateway.py's helpers and
   bench/gateway.lua, non-streaming) loads each in turn at each --clients count: an
   --e2e-warmup run, then a --duration run, --repeat rounds; medians. Added latency is a
   gateway's p50/p99 minus the no-budget gateway's in the same case. At the end, the
   Redis counters of every budget must equal the spend in that gateway's ledger, with
   nothing in flight, and no request may have been refused.

Needs Redis (--redis-url, or AIFINOPS_BENCH_REDIS_URL, default redis://127.0.0.1:6379/0)
and wrk (`apt-get install -y wrk`). Every key this run writes to Redis has a prefix of
its own and is deleted at the end; every process it starts is stopped, also on error.
Only 127.0.0.1 is contacted. Prints a Markdown report for docs/benchmarks.md and writes
it, with the raw figures as JSON, to bench/out/governance/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import redis.asyncio as aioredis
import yaml
from sqlalchemy.engine import Engine

from aifinops.gateway.guard import AllowAll, Guard, GuardRequest
from aifinops.gateway.keys import create_key
from aifinops.governance.budgets import Budget, parse_budget
from aifinops.governance.counters import Counters, MemoryCounters, RedisCounters
from aifinops.governance.guard import BudgetGuard
from aifinops.governance.limits import RateLimit, parse_rate_limits
from aifinops.governance.periods import period_bounds
from aifinops.ledger.db import open_ledger
from aifinops.pricing import PriceResult, PricingEngine
from aifinops.usage import Attribution, Usage
from gateway import (
    HOST,
    METRICS_TOKEN,
    WRK_INSTALL,
    LedgerCheck,
    Run,
    Target,
    aifinops_exe,
    check_answer,
    cpu_model,
    gateway_env,
    ledger_counts,
    loadavg,
    med,
    on_sigterm,
    request_body,
    settle,
    signed,
    spawn,
    start_sim,
    wait_http,
    wait_listening,
    wrk,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "governance"
GOAL_US = 50.0
TEAM, FEATURE, CUSTOMER = "bench", "gateway-bench", "acme-42"
PROVIDER, ENDPOINT, MODEL = "openai", "chat/completions", "gpt-4o-mini"
MAX_TOKENS = 16
ACTUAL = Usage(input_tokens=20, output_tokens=16)  # what the simulator answers
TOKENS = ACTUAL.input_tokens + ACTUAL.output_tokens  # what settle counts against tpm
BIG_USD = "1000000"  # never reached: every request is admitted and settled
BIG_RPM = 10_000_000
COUNT_PASS = 1_000  # requests of the Redis round-trip counting pass
T = TypeVar("T")
REDIS_COMMANDS = ("evalsha", "multi", "exec")  # what the client sends: the round trips


# --- what the requests count against ------------------------------------------------------


def budget_defs(
    key_id: str, team: str = TEAM, feature: str = FEATURE, customer: str = CUSTOMER
) -> list[dict[str, Any]]:
    """5 budgets covering a request of (team, feature, customer, key_id), never reached:
    monthly, weekly, daily and UTC+2 periods, effective and list cost."""
    return [
        {"scope": "team", "name": team, "amount_usd": BIG_USD, "action": "block"},
        {"scope": "feature", "name": feature, "amount_usd": BIG_USD, "period": "week"},
        {"scope": "customer", "name": customer, "amount_usd": BIG_USD, "period": "day"},
        {"scope": "key", "name": key_id, "amount_usd": BIG_USD, "timezone": "UTC+2"},
        {"scope": "org", "amount_usd": BIG_USD, "cost": "list", "action": "block"},
    ]


def limit_defs(key_id: str, team: str = TEAM) -> list[dict[str, Any]]:
    """2 rate limits covering the request (team: requests and tokens; key: requests)."""
    return [
        {"scope": "team", "name": team, "rpm": BIG_RPM, "tpm": 10**12},
        {"scope": "key", "name": key_id, "rpm": BIG_RPM},
    ]


def guard_request(key_id: str, body_bytes: int) -> GuardRequest:
    """What the gateway hands the guard for bench/gateway.lua's request."""
    attribution = Attribution(team=TEAM, feature=FEATURE, customer_id=CUSTOMER, api_key_id=key_id)
    return GuardRequest(
        PROVIDER, ENDPOINT, MODEL, attribution, False, body_bytes, max_tokens=MAX_TOKENS
    )


# --- in-process ---------------------------------------------------------------------------


@dataclass(slots=True)
class Case:
    """One guard measured in-process, and what it measured."""

    name: str
    label: str
    guard: Guard
    budgets: tuple[Budget, ...] = ()
    check_ns: list[int] = field(default_factory=list)
    settle_ns: list[int] = field(default_factory=list)
    total_ns: list[int] = field(default_factory=list)
    round_medians_ns: list[float] = field(default_factory=list)
    cpu_ns: int = 0
    done: int = 0  # every request run, warm-up and counting pass included


@dataclass(slots=True)
class RoundTrips:
    """The Redis counting pass: writes per request in check and settle, server deltas."""

    requests: int = 0
    check_writes: list[int] = field(default_factory=list)
    settle_writes: list[int] = field(default_factory=list)
    server: dict[str, int] = field(default_factory=dict)  # command -> calls delta
    server_usec: dict[str, int] = field(default_factory=dict)
    total_commands: int = 0
    background: int = 0  # writes of the guard's background jobs meanwhile (heartbeat)


class WriteCounter:
    """Counts what redis-py writes to Redis: one write per command or pipeline, each
    followed by reading its replies, i.e. one round trip. Writes from other tasks (the
    guard's heartbeat every 5 s) are counted apart, in ``background``."""

    def __init__(self) -> None:
        self.writes = 0
        self.background = 0
        self.task: asyncio.Task[Any] | None = None

    @contextlib.contextmanager
    def installed(self, cls: type) -> Iterator[None]:
        name = "send_packed_command"
        own = name in cls.__dict__
        original = getattr(cls, name)

        async def counting(conn: Any, command: Any, check_health: bool = True) -> None:
            if asyncio.current_task() is self.task:
                self.writes += 1
            else:
                self.background += 1
            await original(conn, command, check_health)

        setattr(cls, name, counting)
        try:
            yield
        finally:
            if own:
                setattr(cls, name, original)
            else:
                delattr(cls, name)


def new_guard(
    engine: Engine,
    pricing: PricingEngine,
    counters: Counters,
    budgets: tuple[Budget, ...] = (),
    limits: tuple[RateLimit, ...] = (),
) -> BudgetGuard:
    """A BudgetGuard as the gateway builds it, but without the 60 s reconciliation: this
    benchmark writes no ledger, so reconciling would set in-memory counters back to it."""
    return BudgetGuard(
        engine, pricing, counters, config_budgets=budgets, rate_limits=limits, reconcile_s=3600
    )


def budget_guard(engine: Engine, pricing: PricingEngine, counters: Counters, key: str) -> Case:
    """A BudgetGuard with the 5 covering budgets and 2 rate limits."""
    budgets = tuple(parse_budget(b) for b in budget_defs(key))
    guard = new_guard(engine, pricing, counters, budgets, parse_rate_limits(limit_defs(key)))
    kind = "MemoryCounters" if isinstance(counters, MemoryCounters) else "RedisCounters"
    name = "memory" if kind == "MemoryCounters" else "redis"
    label = f"BudgetGuard, 5 covering budgets + 2 rate limits, {kind}"
    return Case(name, label, guard, budgets)


def cases(engine: Engine, pricing: PricingEngine, redis_url: str, prefix: str) -> list[Case]:
    """The guards to compare, in the order the report shows them."""
    key = "key_0bench00"
    # the same budgets for another team, feature, customer and key (no org: it covers all)
    other = tuple(parse_budget(b) for b in budget_defs("key_0other0", *["other"] * 3)[:4])
    other_limits = (RateLimit("team", "other", rpm=BIG_RPM),)
    return [
        Case("allow", "AllowAll (no guard: the floor)", AllowAll()),
        Case(
            "none",
            "BudgetGuard, no budgets (the gateway without budgets)",
            new_guard(engine, pricing, MemoryCounters()),
        ),
        Case(
            "uncovered",
            "BudgetGuard, 4 budgets + 1 rate limit, none covering the request",
            new_guard(engine, pricing, MemoryCounters(), other, other_limits),
        ),
        budget_guard(engine, pricing, MemoryCounters(), key),
        budget_guard(engine, pricing, RedisCounters(redis_url, prefix), key),
    ]


async def run_block(case: Case, request: GuardRequest, price: PriceResult, n: int) -> None:
    """n sequential requests: check then settle, each timed."""
    clock = time.perf_counter_ns
    guard = case.guard
    check_ns, settle_ns, total_ns = [], [], []
    cpu0 = time.process_time_ns()
    for _ in range(n):
        t0 = clock()
        decision = await guard.check(request)
        t1 = clock()
        await guard.settle(decision, price, TOKENS)
        t2 = clock()
        check_ns.append(t1 - t0)
        settle_ns.append(t2 - t1)
        total_ns.append(t2 - t0)
    case.cpu_ns += time.process_time_ns() - cpu0
    case.check_ns += check_ns
    case.settle_ns += settle_ns
    case.total_ns += total_ns
    case.round_medians_ns.append(statistics.median(total_ns))
    case.done += n


async def warm(case: Case, request: GuardRequest, price: PriceResult, n: int) -> None:
    """Unmeasured requests (the first one seeds each budget period from the ledger)."""
    for _ in range(n):
        decision = await case.guard.check(request)
        await case.guard.settle(decision, price, TOKENS)
    case.done += n


async def count_round_trips(case: Case, request: GuardRequest, price: PriceResult) -> RoundTrips:
    """Writes to Redis per request in check and in settle, and the server's deltas."""
    guard = case.guard
    assert isinstance(guard, BudgetGuard) and isinstance(guard.counters, RedisCounters)
    counter = WriteCounter()
    counter.task = asyncio.current_task()
    info = guard.counters.client
    stats0, cmds0 = await info.info("commandstats"), await info.info("stats")
    out = RoundTrips(requests=COUNT_PASS)
    with counter.installed(guard.counters.pool.connection_class):
        for _ in range(COUNT_PASS):
            w0 = counter.writes
            decision = await guard.check(request)
            w1 = counter.writes
            await guard.settle(decision, price, TOKENS)
            out.check_writes.append(w1 - w0)
            out.settle_writes.append(counter.writes - w1)
    stats1, cmds1 = await info.info("commandstats"), await info.info("stats")
    case.done += COUNT_PASS
    out.background = counter.background
    for name, now in stats1.items():
        before = stats0.get(name, {"calls": 0, "usec": 0})
        if now["calls"] != before["calls"]:
            command = name.removeprefix("cmdstat_")
            out.server[command] = now["calls"] - before["calls"]
            out.server_usec[command] = now["usec"] - before["usec"]
    out.server.pop("info", None)  # this function's own INFO calls
    out.server_usec.pop("info", None)
    out.total_commands = cmds1["total_commands_processed"] - cmds0["total_commands_processed"] - 2
    return out


async def counted_in_full(case: Case, price: PriceResult) -> tuple[bool, str]:
    """Each budget's counter holds exactly every request's cost, nothing in flight."""
    guard = case.guard
    assert isinstance(guard, BudgetGuard)
    now = datetime.now(UTC)
    parts, ok = [], True
    for budget in case.budgets:
        start, _ = period_bounds(budget.period, budget.tz_hours, now)
        snap = await guard.counters.snapshot(budget.id, int(start.timestamp()))
        cost = price.effective_cost_nusd if budget.cost == "effective" else price.list_cost_nusd
        want = (cost or 0) * case.done
        good = snap == (want, 0)
        ok = ok and good
        parts.append(f"{budget.id} {snap[0] if snap else None} of {want}")
    return ok, "; ".join(parts)


async def in_process(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Measure every case; return the figures."""
    engine = open_ledger(f"sqlite:///{tmp / 'inproc-ledger.db'}")
    pricing = PricingEngine()
    prefix = f"aifinops-bench-{uuid.uuid4().hex[:12]}:"
    body = len(orjson.dumps(request_body("whole")))
    price = pricing.price(PROVIDER, MODEL, datetime.now(UTC), ACTUAL)
    all_cases = cases(engine, pricing, args.redis_url, prefix)
    request = guard_request("key_0bench00", body)
    try:
        for case in all_cases:
            if isinstance(case.guard, BudgetGuard):
                await case.guard.start()
        for case in all_cases:
            await warm(case, request, price, args.warmup)
        per_round = args.iterations // args.rounds
        for r in range(args.rounds):
            order = all_cases[r % len(all_cases) :] + all_cases[: r % len(all_cases)]
            for case in order:
                gc.collect()
                await run_block(case, request, price, per_round)
        trips = await count_round_trips(all_cases[-1], request, price)
        checks = {c.name: await counted_in_full(c, price) for c in all_cases if c.budgets}
    finally:
        for case in all_cases:
            if isinstance(case.guard, BudgetGuard):
                await case.guard.stop()
        await delete_keys(args.redis_url, prefix)
        engine.dispose()
    return {
        "cases": all_cases,
        "trips": trips,
        "checks": checks,
        "body_bytes": body,
        "price": price,
        "prefix": prefix,
    }


async def delete_keys(url: str, prefix: str) -> int:
    """Delete every key under this run's prefix."""
    client: Any = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


# --- end to end ---------------------------------------------------------------------------


@dataclass(slots=True)
class Gateway:
    """One `aifinops serve` of the end-to-end part."""

    target: Target
    folder: Path
    key_id: str
    redis_prefix: str | None
    check: LedgerCheck = field(default_factory=LedgerCheck)


E2E = {
    "none": "aifinops serve, no budgets",
    "memory": "aifinops serve, 5 budgets + 2 rate limits, in memory",
    "redis": "aifinops serve, 5 budgets + 2 rate limits, Redis",
}


def start_gateway(
    stack: contextlib.ExitStack, tmp: Path, sim_port: int, name: str, redis: tuple[str, str]
) -> Gateway:
    """A ledger with a gateway key, the config with the budgets, then `aifinops serve`."""
    folder = tmp / name
    folder.mkdir()
    env = gateway_env(folder, sim_port)
    engine = open_ledger(env["AIFINOPS_DATABASE_URL"])
    with engine.begin() as conn:
        record, secret = create_key(conn, TEAM, FEATURE, "governance bench")
    engine.dispose()
    prefix = None
    if name != "none":
        config = folder / "aifinops.yaml"
        doc = {"budgets": budget_defs(record.key_id), "rate_limits": limit_defs(record.key_id)}
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        env["AIFINOPS_CONFIG"] = str(config)
    if name == "redis":
        prefix = redis[1]
        env.update(AIFINOPS_REDIS_URL=redis[0], AIFINOPS_REDIS_PREFIX=prefix)
    args = ["serve", "--host", HOST, "--port", "0"]
    log = folder / "aifinops-serve.log"
    proc = spawn(stack, [aifinops_exe(), *args], log, env, signal.SIGINT)
    port = wait_listening(proc, log, "gateway listening on", 30)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 20)
    headers = [f"Authorization: Bearer {secret}", f"x-aifinops-customer: {CUSTOMER}"]
    shown = " ".join(["aifinops", *args])
    target = Target(name, E2E[name], port, "/openai/v1/chat/completions", headers, proc, shown)
    return Gateway(target, folder, record.key_id, prefix)


def measure_e2e(
    gateways: list[Gateway], args: argparse.Namespace, roots: dict[str, int]
) -> dict[tuple[str, int], list[Run]]:
    """Per round, per client count, per gateway (order rotated each round): warm-up, run."""
    runs: dict[tuple[str, int], list[Run]] = {}
    for r in range(args.repeat):
        for clients in args.clients:
            order = gateways[r % len(gateways) :] + gateways[: r % len(gateways)]
            for gw in order:
                for seconds, kept in ((args.e2e_warmup, False), (args.duration, True)):
                    run = wrk(gw.target, "whole", clients, seconds, roots)
                    settle(gw.target, gw.check, run, clients)
                    if kept:
                        runs.setdefault((gw.target.name, clients), []).append(run)
                for g in gateways:
                    proc = g.target.proc
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(f"{g.target.name} exited with {proc.returncode}")
            print(
                f"round {r + 1}/{args.repeat}: {clients} clients done", file=sys.stderr, flush=True
            )
    return runs


def metrics_text(target: Target) -> str:
    """The gateway's /metrics."""
    r = httpx.get(
        f"{target.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    return r.text


def labelled(text: str, name: str) -> dict[str, float]:
    """The samples of one labelled metric: label text -> value."""
    pattern = rf"^{re.escape(name)}\{{(.*)\}} (\S+)$"
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.MULTILINE)}


def ledger_spend(folder: Path) -> tuple[int, int]:
    """(effective, list) cost of every call in a gateway's ledger, in nano-USD."""
    uri = f"file:{folder / 'ledger.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as c:
        row = c.execute(
            "SELECT coalesce(sum(effective_cost_nusd), 0), coalesce(sum(list_cost_nusd), 0) "
            "FROM usage_events"
        ).fetchone()
    return int(row[0]), int(row[1])


async def redis_counters(url: str, gw: Gateway) -> dict[str, tuple[int, int]]:
    """Each budget's (spent, in flight) as the gateway's Redis counters hold them now."""
    assert gw.redis_prefix is not None
    counters = RedisCounters(url, gw.redis_prefix)
    now = datetime.now(UTC)
    out = {}
    try:
        for b in (parse_budget(d) for d in budget_defs(gw.key_id)):
            start, _ = period_bounds(b.period, b.tz_hours, now)
            snap = await counters.snapshot(b.id, int(start.timestamp()))
            out[b.id] = snap if snap is not None else (-1, -1)
    finally:
        await counters.client.aclose()
        await counters.pool.disconnect()
    return out


def verify_e2e(gateways: list[Gateway], redis_url: str) -> list[str]:
    """After the load: refusals, counter errors, ledger rows, counters against the ledger."""
    lines = []
    for gw in gateways:
        text = metrics_text(gw.target)
        refused = sum(labelled(text, "aifinops_budget_refusals_total").values())
        errors = sum(labelled(text, "aifinops_budget_counter_errors_total").values())
        rows, other = ledger_counts(gw.folder / "ledger.db")
        c = gw.check
        within = c.completed <= rows <= c.completed + c.in_flight_bound
        line = (
            f"{gw.target.label}: {refused:.0f} refused, {errors:.0f} counter errors; ledger "
            f"{rows:,} rows for {c.completed:,} completed by wrk (+ at most "
            f"{c.in_flight_bound:,} in flight when a run stopped): {'yes' if within else 'NO'}"
            + (f"; not a plain 200: {other}" if other else "")
        )
        if gw.redis_prefix is not None:
            effective, list_cost = ledger_spend(gw.folder)
            snaps = asyncio.run(redis_counters(redis_url, gw))
            wants = {b: list_cost if b == "org" else effective for b in snaps}
            exact = all(snaps[b] == (wants[b], 0) for b in snaps)
            line += (
                f"; Redis counters of the 5 budgets = the ledger's spend "
                f"({effective / 1e9:.6f} USD effective, {list_cost / 1e9:.6f} list), "
                f"nothing in flight: {'yes' if exact else 'NO ' + str(snaps)}"
            )
        elif gw.target.name == "memory":
            spent = labelled(text, "aifinops_budget_spent_usd")
            gap = labelled(text, "aifinops_budget_counter_gap_usd")
            line += (
                f"; at the last reconciliation (every 60 s) the in-memory counters of "
                f"{len(spent)} budgets held {min(spent.values(), default=0):.6f} to "
                f"{max(spent.values(), default=0):.6f} USD, largest gap with the ledger "
                f"{max((abs(v) for v in gap.values()), default=0):.6f} USD"
            )
        lines.append(line)
    return lines


def redis_pid(url: str) -> int | None:
    """The Redis server's process id, if it runs on this machine (for its CPU)."""

    async def ask() -> int | None:
        client: Any = aioredis.from_url(url)
        try:
            pid = int((await client.info("server"))["process_id"])
        finally:
            await client.aclose()
        return pid if Path(f"/proc/{pid}/stat").exists() else None

    return asyncio.run(ask())


def end_to_end(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Start the simulator and the three gateways, check, load, verify, stop."""
    with contextlib.ExitStack() as stack:
        prefix = f"aifinops-bench-{uuid.uuid4().hex[:12]}:"
        # registered first, so it runs last: after every gateway has stopped
        stack.callback(lambda: asyncio.run(delete_keys(args.redis_url, prefix)))
        direct, sim = start_sim(stack, tmp)
        redis = (args.redis_url, prefix)
        gateways = [start_gateway(stack, tmp, direct.port, n, redis) for n in E2E]
        answers = {gw.target.name: check_answer(gw.target, "whole") for gw in gateways}
        for gw in gateways:
            gw.check.completed += 1  # the answer check's request
        roots = {"sim": sim.pid} | {
            g.target.name: g.target.proc.pid for g in gateways if g.target.proc
        }
        pid = redis_pid(args.redis_url)
        if pid is not None:
            roots["redis-server"] = pid
        runs = measure_e2e(gateways, args, roots)
        time.sleep(0.5)  # a request wrk abandoned at its stop may still be finishing
        verified = verify_e2e(gateways, args.redis_url)
    return {
        "runs": runs,
        "answers": answers,
        "verified": verified,
        "sim_shown": direct.shown,
        "redis_cpu": pid is not None,
    }


# --- report -------------------------------------------------------------------------------


def us(ns: float) -> str:
    return f"{ns / 1000:,.1f} µs"


def pct(values: list[int], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))])


def versions() -> str:
    parts = []
    for name in ("aifinops", "redis", "uvicorn", "uvloop", "aiohttp", "orjson"):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def redis_version(url: str) -> str:
    async def ask() -> str:
        client: Any = aioredis.from_url(url)
        try:
            return str((await client.info("server"))["redis_version"])
        finally:
            await client.aclose()

    return asyncio.run(ask())


def spread(counts: list[int]) -> str:
    """'1 in all 1,000 requests', or how many requests made each count."""
    tally = Counter(counts)
    if len(tally) == 1:
        return f"{counts[0]} in all {len(counts):,} requests"
    return ", ".join(f"{k} in {n:,} requests" for k, n in sorted(tally.items()))


def server_line(trips: RoundTrips) -> str:
    """What Redis saw over the counting pass (INFO commandstats deltas)."""
    n = trips.requests
    sent = ", ".join(
        f"{c.upper()} {trips.server.get(c, 0) / n:.2f}"
        + (f" ({trips.server_usec[c] / trips.server[c]:.1f} µs each)" if c in trips.server else "")
        for c in REDIS_COMMANDS
    )
    inside = ", ".join(
        f"{c.upper()} {k / n:.2f}"
        for c, k in sorted(trips.server.items(), key=lambda kv: -kv[1])
        if c not in REDIS_COMMANDS and k >= n / 2
    )
    other = ", ".join(
        f"{c.upper()} {k}"
        for c, k in sorted(trips.server.items())
        if c not in REDIS_COMMANDS and k < n / 2
    )
    return (
        f"Server side (INFO commandstats deltas over the same requests): {sent} per request; "
        f"run inside the script and the transaction: {inside} per request "
        f"(total_commands_processed +{trips.total_commands / n:.2f} a request)"
        + (f"; besides, in all: {other} (the guard's heartbeat, or other clients)" if other else "")
        + f". Client side, the guard's background jobs wrote {trips.background} times during "
        "the pass (a heartbeat every 5 s), not counted above."
    )


def report_in_process(args: argparse.Namespace, res: dict[str, Any]) -> list[str]:
    cases_: list[Case] = res["cases"]
    floor = statistics.median(cases_[0].total_ns)
    lines = [
        "### In-process: `guard.check` + `guard.settle` per request\n",
        "| guard | requests | median | p50 | p99 | mean | round medians min – max | check p50 | "
        "settle p50 | CPU per request (mean) | added (median − AllowAll) |",
        "| --- " + "| ---: " * 10 + "|",
    ]
    for c in cases_:
        mid = statistics.median(c.total_ns)
        added = "—" if c.name == "allow" else f"{(mid - floor) / 1000:+,.1f} µs"
        lines.append(
            f"| {c.label} | {len(c.total_ns):,} | {us(mid)} | {us(pct(c.total_ns, 50))} | "
            f"{us(pct(c.total_ns, 99))} | {us(statistics.fmean(c.total_ns))} | "
            f"{us(min(c.round_medians_ns))} – "
            f"{us(max(c.round_medians_ns))} | {us(pct(c.check_ns, 50))} | "
            f"{us(pct(c.settle_ns, 50))} | {us(c.cpu_ns / len(c.total_ns))} | {added} |"
        )
    lines.append("")
    by = {c.name: c for c in cases_}
    mem = statistics.median(by["memory"].total_ns) - floor
    mem99 = pct(by["memory"].total_ns, 99) - pct(cases_[0].total_ns, 99)
    red = statistics.median(by["redis"].total_ns) - floor
    red_cpu = by["redis"].cpu_ns / len(by["redis"].total_ns) - cases_[0].cpu_ns / len(
        cases_[0].total_ns
    )
    trips: RoundTrips = res["trips"]
    before, after = set(trips.check_writes), set(trips.settle_writes)
    one_one = before == {1} and after == {1}
    lines += [
        f"Goal (issue 7): ≤ {GOAL_US:g} µs added in-process with 5 covering budgets: "
        f"{mem / 1000:.1f} µs added on MemoryCounters (p99 {mem99 / 1000:.1f} µs): "
        f"{'met' if mem / 1000 <= GOAL_US else 'NOT met'}. With Redis: {red / 1000:.1f} µs "
        f"added, of which {red_cpu / 1000:.1f} µs is this process's CPU (the rest is "
        "waiting for Redis).",
        "",
        f"Redis round trips over {trips.requests:,} more requests (writes redis-py made, "
        f"each followed by reading its replies): in check {spread(trips.check_writes)}; in "
        f"settle {spread(trips.settle_writes)}; one before the call and one after it: "
        f"{'met' if one_one else 'NOT met'}.",
        server_line(trips),
        "",
        "Counters after the run (spent of every request, nothing in flight): "
        + "; ".join(
            f"{name}: {'yes' if ok else 'NO (' + detail + ')'}"
            for name, (ok, detail) in res["checks"].items()
        ),
        "",
    ]
    return lines


def report_e2e(args: argparse.Namespace, res: dict[str, Any]) -> list[str]:
    runs: dict[tuple[str, int], list[Run]] = res["runs"]
    lines = [
        "### End to end: `aifinops serve` with and without budgets (non-streaming)\n",
        "| gateway | clients | requests/s (median) | min – max | p50 | p99 | added p50 | "
        "added p99 | errors | gateway CPU | CPU per request | sim CPU | Redis CPU | machine busy |",
        "| --- " + "| ---: " * 13 + "|",
    ]
    for c in args.clients:
        base = runs[("none", c)]
        b50, b99 = med(r.p50_ms for r in base), med(r.p99_ms for r in base)
        for name, label in E2E.items():
            rs = runs[(name, c)]
            p50, p99 = med(r.p50_ms for r in rs), med(r.p99_ms for r in rs)
            added = ("—", "—") if name == "none" else (signed(p50 - b50), signed(p99 - b99))
            per = med(r.cpu[name] / r.rps for r in rs if r.rps) * 1000
            redis_cpu = f"{med(r.cpu['redis-server'] for r in rs):.0%}" if res["redis_cpu"] else "—"
            lines.append(
                f"| {label} | {c} | {med(r.rps for r in rs):,.0f} | "
                f"{min(r.rps for r in rs):,.0f} – {max(r.rps for r in rs):,.0f} | "
                f"{p50:.2f} ms | {p99:.2f} ms | {added[0]} | {added[1]} | "
                f"{sum(r.errors for r in rs)} of {sum(r.requests for r in rs):,} | "
                f"{med(r.cpu[name] for r in rs):.0%} | {per:.3f} ms | "
                f"{med(r.cpu['sim'] for r in rs):.0%} | {redis_cpu} | "
                f"{med(r.machine for r in rs):.2f} of {os.cpu_count()} |"
            )
    lines += [
        "",
        "Latency as wrk measures it; added = the gateway's median p50/p99 minus the "
        "no-budget gateway's in the same case. CPU is CPU-seconds per wall-second over the "
        "run (100% = one core); CPU per request is the gateway's. Redis CPU is the whole "
        "server's (shared with any other client).",
        "",
        "Checks after the load:",
        "",
        *(f"- {line}" for line in res["verified"]),
        "",
    ]
    return lines


def report(
    args: argparse.Namespace,
    inproc: dict[str, Any],
    e2e: dict[str, Any] | None,
    load: tuple[str, str],
) -> str:
    clients = ",".join(str(c) for c in args.clients)
    command = (
        f".venv/bin/python bench/governance.py --iterations {args.iterations} --warmup "
        f"{args.warmup} --rounds {args.rounds} --loop {args.loop}"
        + (
            f" --duration {args.duration} --e2e-warmup {args.e2e_warmup} --repeat "
            f"{args.repeat} --clients {clients}"
            if e2e
            else " --no-e2e"
        )
    )
    price: PriceResult = inproc["price"]
    lines = [
        f"# Governance overhead benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n",
        f"- command: `{command}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}, {versions()}, Redis {redis_version(args.redis_url)} "
        f"on 127.0.0.1; load average at start {load[0]}, at the end {load[1]}",
        f"- in-process: one {args.loop} event loop, sequential requests; {args.warmup:,} warm-up "
        f"requests per guard, then {args.rounds} interleaved rounds of "
        f"{args.iterations // args.rounds:,} (order rotated); the request: OpenAI chat "
        f"completion, {MODEL}, {inproc['body_bytes']} bytes, max_completion_tokens "
        f"{MAX_TOKENS}; settled at {ACTUAL.input_tokens} in / {ACTUAL.output_tokens} out "
        f"tokens ({price.effective_cost_nusd:,} nano-USD); budgets of {BIG_USD} USD "
        "(never reached), Redis keys under a prefix of the run's own, deleted at the end",
    ]
    if e2e:
        lines += [
            f"- end to end: upstream `{e2e['sim_shown']}`; three `aifinops serve --host "
            f"127.0.0.1 --port 0` (1 worker each, SQLite ledger); wrk, 1 thread, keep-alive, "
            f"bench/gateway.lua non-streaming; per round, per client count, per gateway "
            f"(order rotated): {args.e2e_warmup} s warm-up then {args.duration} s measured; "
            f"{args.repeat} rounds; medians. wrk, the gateways, the simulator and Redis share "
            "the machine",
            "- answers checked (HTTP 200, usage): "
            + "; ".join(f"{k} {v}" for k, v in e2e["answers"].items()),
        ]
    lines.append("")
    lines += report_in_process(args, inproc)
    if e2e:
        lines += report_e2e(args, e2e)
    return "\n".join(lines)


def raw_figures(inproc: dict[str, Any], e2e: dict[str, Any] | None) -> dict[str, Any]:
    """What the report is made of, for bench/out/governance/results.json."""
    out: dict[str, Any] = {
        "in_process": {
            c.name: {
                "requests": len(c.total_ns),
                "median_ns": statistics.median(c.total_ns),
                "p50_ns": pct(c.total_ns, 50),
                "p99_ns": pct(c.total_ns, 99),
                "check_p50_ns": pct(c.check_ns, 50),
                "settle_p50_ns": pct(c.settle_ns, 50),
                "cpu_ns_per_request": c.cpu_ns / len(c.total_ns),
                "round_medians_ns": c.round_medians_ns,
            }
            for c in inproc["cases"]
        },
        "round_trips": {
            "check": sorted(set(inproc["trips"].check_writes)),
            "settle": sorted(set(inproc["trips"].settle_writes)),
            "server": inproc["trips"].server,
        },
    }
    if e2e:
        out["end_to_end"] = {
            f"{name}@{c}": [
                {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors}
                for r in rs
            ]
            for (name, c), rs in e2e["runs"].items()
        }
    return out


# --- main ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50_000, help="measured per guard")
    parser.add_argument("--warmup", type=int, default=5_000, help="unmeasured per guard first")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured wrk run")
    parser.add_argument("--e2e-warmup", type=int, default=2, help="seconds of wrk warm-up")
    parser.add_argument("--repeat", type=int, default=3, help="end-to-end rounds (max 10)")
    parser.add_argument("--clients", default="1,16", help="wrk connections, comma-separated")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("AIFINOPS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    parser.add_argument("--no-e2e", action="store_true", help="only the in-process part")
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        help="the in-process part's event loop (default: uvloop, as the gateway runs)",
    )
    args = parser.parse_args()
    try:
        args.clients = [int(c) for c in args.clients.split(",")]
    except ValueError:
        parser.error("--clients: comma-separated integers, e.g. 1,16")
    if not (1 <= args.rounds <= 50 and args.iterations >= args.rounds * 100):
        parser.error("--rounds 1..50, and at least 100 --iterations per round")
    if not (1 <= args.duration <= 120 and 1 <= args.e2e_warmup <= 60 and 1 <= args.repeat <= 10):
        parser.error("--duration 1..120, --e2e-warmup 1..60, --repeat 1..10")
    if not all(1 <= c <= 1000 for c in args.clients):
        parser.error("--clients: each between 1 and 1000")
    return args


def run_on_loop(coro: Coroutine[Any, Any, T], kind: str) -> T:
    """Run ``coro`` on a new event loop: uvloop, as `aifinops serve` runs (uvicorn picks it
    when installed), or asyncio's own."""
    if kind == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def main() -> None:
    args = parse_args()
    if not args.no_e2e and shutil.which("wrk") is None:
        sys.exit(WRK_INSTALL)
    signal.signal(signal.SIGTERM, on_sigterm)
    load_before = loadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aifinops-bench-gov-") as tmpdir:
        tmp = Path(tmpdir)
        inproc = run_on_loop(in_process(args, tmp), args.loop)
        print("in-process part done", file=sys.stderr, flush=True)
        e2e = None if args.no_e2e else end_to_end(args, tmp)
    text = report(args, inproc, e2e, (load_before, loadavg()))
    (OUT / "report.md").write_text(text + "\n")
    (OUT / "results.json").write_bytes(
        orjson.dumps(raw_figures(inproc, e2e), option=orjson.OPT_INDENT_2)
    )
    print(text)


if __name__ == "__main__":
    main()
