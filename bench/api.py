"""The spend endpoint over HTTP: `GET /api/v1/spend?by=team,day` on a 10,000,000-event month.

    .venv/bin/python bench/api.py [--events 10000000] [--reps 50] [--warmup 5]
                                  [--backends sqlite,postgres] [--out bench/out/api]
                                  [--rebuild] [--report FILE]

Issue 6's goal: spend grouped by team and day for a 10,000,000-event month in ≤ 300 ms.
For each backend, in one run:

1. a ledger holding the seeded month of --events events (bench/_ledger_fill.py, the
   same generator and `aifinops import events` load as bench/ledger.py). Loading 10 M
   events took about half an hour per backend on the 2-core development machine, so a
   finished load is kept and reused by later runs: SQLite in OUT/month_N_sSEED.db (a
   .json marker beside it), PostgreSQL in the schema aifinops_bench_month_N_sSEED (the
   marker is its comment). --rebuild loads anew; delete the file or `DROP SCHEMA …
   CASCADE` to free the space. The generated JSONL (3.4 GB at 10 M) is deleted once
   every backend asked for is loaded.
2. a real `aifinops serve --port 0` process (1 worker) on that ledger, and an admin
   API token made for the run (revoked at the end);
3. the same month's spend by team and day, --warmup then --reps times, two ways
   interleaved: over HTTP (`GET /api/v1/spend?from=…&to=…&by=team,day`, one keep-alive
   httpx connection, the whole body read) and directly in this process through what
   the endpoint calls (`aifinops.ledger.queries.spend` on a pooled connection, then
   `aifinops.reports.spend.spend_document`). The HTTP answer's rows and totals are
   checked against the direct one, and its calls against --events. The report also
   gives HTTP minus direct round by round (the HTTP overhead, less exposed to the
   machine's other work than the difference of two medians).

Prints a Markdown report (median, p50, p99, min, max, repetitions, machine, versions)
for docs/benchmarks.md; --report FILE writes it there too. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from sqlalchemy.engine import Engine

from _ledger_fill import MONTH, ROOT, Cached, cached_ledger, month_events_path, pg_base_url
from gateway import aifinops_exe, cpu_model, loadavg, spawn, wait_http, wait_listening

HOST = "127.0.0.1"
SEED = 3  # bench/ledger.py's month: the same 10 M events
FIRST = date.fromisoformat(f"{MONTH}-01")
LAST = date(FIRST.year, FIRST.month, 31)
BY = "team,day"
PATH = f"/api/v1/spend?from={FIRST}&to={LAST}&by={BY}"
GOAL_MS = 300.0


@dataclass(slots=True)
class Timing:
    """Wall times in seconds of one way of asking, over the measured repetitions."""

    runs: list[float]

    def ms(self, what: str) -> float:
        values = np.array(self.runs) * 1000
        if what == "median":
            return float(statistics.median(values))
        if what == "min":
            return float(values.min())
        if what == "max":
            return float(values.max())
        return float(np.percentile(values, float(what[1:])))


@dataclass(slots=True)
class Measured:
    cached: Cached
    http: Timing
    direct: Timing
    rows: int
    calls: int
    rollup_rows: int
    body_bytes: int
    server: str

    @property
    def overhead(self) -> Timing:
        """HTTP minus direct, round by round (both ran back to back in each round)."""
        return Timing([h - d for h, d in zip(self.http.runs, self.direct.runs, strict=True)])


def serve_env(url: str, tmp: Path) -> dict[str, str]:
    """`aifinops serve`'s environment: this ledger, a spool of its own, no stray config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    env.update(AIFINOPS_DATABASE_URL=url, AIFINOPS_SPOOL_DIR=str(tmp / "spool"))
    return env


def admin_token(url: str) -> tuple[str, str]:
    """(token id, secret) of an admin API token made for this run (migrates the ledger)."""
    from aifinops.api.roles import Role
    from aifinops.api.tokens import create_token
    from aifinops.ledger.db import open_ledger

    engine = open_ledger(url)
    try:
        with engine.begin() as conn:
            record, secret = create_token(conn, Role.parse("admin"), "bench/api.py")
    finally:
        engine.dispose()
    return record.token_id, secret


def revoke(url: str, token_id: str) -> None:
    from aifinops.api.tokens import revoke_token
    from aifinops.ledger.db import create_ledger_engine

    engine = create_ledger_engine(url)
    try:
        with engine.begin() as conn:
            revoke_token(conn, token_id)
    finally:
        engine.dispose()


def comparable(doc: dict[str, Any]) -> tuple[Any, Any]:
    return doc["rows"], doc["totals"]


def interleaved(
    ways: dict[str, Callable[[], object]], warmup: int, reps: int
) -> dict[str, list[float]]:
    """Wall times of each way, one after the other per round, alternating which goes first."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    order = list(ways)
    for i in range(warmup + reps):
        for name in order if i % 2 == 0 else order[::-1]:
            t = time.perf_counter()
            ways[name]()
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    return times


def start_serve(stack: contextlib.ExitStack, url: str, tmp: Path, backend: str) -> str:
    """`aifinops serve --port 0` on ``url`` (stopped when ``stack`` closes); its base URL."""
    argv = [aifinops_exe(), "serve", "--host", HOST, "--port", "0"]
    log = tmp / f"serve-{backend}.log"
    proc = spawn(stack, argv, log, serve_env(url, tmp), signal.SIGINT)
    port = wait_listening(proc, log, "gateway listening on", 120)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 60)
    return f"http://{HOST}:{port}"


def measure(cached: Cached, args: argparse.Namespace, tmp: Path) -> Measured:
    """Start `aifinops serve` on the ledger, check one answer, then time both ways."""
    from aifinops.ledger.db import create_ledger_engine
    from aifinops.ledger.queries import SpendQuery, parse_group_by, spend
    from aifinops.reports.spend import spend_document

    query = SpendQuery(FIRST, LAST, parse_group_by(BY))
    engine = create_ledger_engine(cached.url)

    def direct() -> dict[str, Any]:
        with engine.connect() as conn:
            return spend_document(query, spend(conn, query))

    token_id, secret = admin_token(cached.url)
    try:
        with contextlib.ExitStack() as stack:
            base = start_serve(stack, cached.url, tmp, cached.backend)
            auth = {"authorization": f"Bearer {secret}"}
            client = stack.enter_context(httpx.Client(base_url=base, headers=auth, timeout=120))
            answer = client.get(PATH)
            answer.raise_for_status()
            doc = answer.json()
            if comparable(doc) != comparable(direct()):
                raise SystemExit(f"{cached.backend}: the API's answer differs from the query's")
            if doc["totals"]["calls"] != cached.events:
                raise SystemExit(
                    f"{cached.backend}: {doc['totals']['calls']:,} calls, not {cached.events:,}"
                )
            ways = {"http": lambda: client.get(PATH).raise_for_status(), "direct": direct}
            times = interleaved(ways, args.warmup, args.reps)
        rollup_rows = count_rollup(engine)
    finally:
        revoke(cached.url, token_id)
        engine.dispose()
    return Measured(
        cached,
        Timing(times["http"]),
        Timing(times["direct"]),
        rows=len(doc["rows"]),
        calls=int(doc["totals"]["calls"]),
        rollup_rows=rollup_rows,
        body_bytes=len(answer.content),
        server=server_version(cached),
    )


def count_rollup(engine: Engine) -> int:
    from sqlalchemy import func, select

    from aifinops.ledger.schema import rollup_daily

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rollup_daily)).scalar_one())


def server_version(cached: Cached) -> str:
    if cached.backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(pg_base_url()) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def versions() -> str:
    names = ("aifinops", "fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "psycopg")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def report(args: argparse.Namespace, results: list[Measured], load: tuple[str, str]) -> str:
    backends = ",".join(m.cached.backend for m in results)
    lines = [
        "# API benchmark\n",
        f"- command: `.venv/bin/python bench/api.py --events {args.events} --reps {args.reps} "
        f"--warmup {args.warmup} --backends {backends}`",
        f"- request: `GET {PATH}` with an admin token, {args.reps} repetitions after "
        f"{args.warmup} warm-up ones, interleaved with the direct call (alternating which "
        "goes first); one keep-alive connection (httpx), body read whole",
        f"- server: `aifinops serve --host {HOST} --port 0` (1 worker), a real process on "
        "the same machine as the client",
        "- direct: `queries.spend` on a pooled connection + `reports.spend.spend_document`, "
        "in the benchmark's process (what the endpoint calls)",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}, {versions()}; load average at start {load[0]}, "
        f"at the end {load[1]}",
    ]
    for m in results:
        how = (
            f"reused (imported {m.cached.loaded_at} in {m.cached.load_s:.0f} s)"
            if m.cached.reused
            else f"imported in this run in {m.cached.load_s:.0f} s"
        )
        lines.append(
            f"- {m.cached.backend}: {m.server}; {m.calls:,} events in {MONTH} "
            f"({m.rollup_rows:,} daily rollup rows), {m.cached.where}, {how}; answer "
            f"{m.rows} rows, {m.body_bytes:,} bytes, equal to the direct call's"
        )
    lines += [
        "",
        "| backend | way | median | p50 | p99 | min | max | reps |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        ways = (
            ("HTTP `aifinops serve`", m.http),
            ("direct (query layer)", m.direct),
            ("HTTP − direct, same round", m.overhead),
        )
        for way, timing in ways:
            cells = " | ".join(
                f"{timing.ms(w):.1f} ms" for w in ("median", "p50", "p99", "min", "max")
            )
            lines.append(f"| {m.cached.backend} | {way} | {cells} | {len(timing.runs)} |")
    lines.append("")
    for m in results:
        verdict = "met" if m.http.ms("p99") <= GOAL_MS else "NOT met"
        lines.append(
            f"- {m.cached.backend}: HTTP median {m.http.ms('median'):.1f} ms, p99 "
            f"{m.http.ms('p99'):.1f} ms (goal ≤ {GOAL_MS:.0f} ms at p99: {verdict}); "
            f"HTTP adds {m.overhead.ms('median'):.1f} ms over the direct call (median of "
            "the per-round differences)"
        )
    return "\n".join(lines) + "\n"


def on_sigterm(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit so that the server is stopped on the way out."""
    raise SystemExit(f"stopped by signal {signum}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the month")
    parser.add_argument("--reps", type=int, default=50, help="measured requests per way")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests first")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "out" / "api",
        help="the cached ledgers and generated events (gitignored)",
    )
    parser.add_argument("--rebuild", action="store_true", help="load anew, ignoring a cache")
    parser.add_argument("--report", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or set(args.backends) - {"sqlite", "postgres"}:
        parser.error("--backends: sqlite, postgres or sqlite,postgres")
    if not (args.events >= 1 and 1 <= args.reps <= 10_000 and 0 <= args.warmup <= 1_000):
        parser.error("--events ≥ 1, --reps 1..10000, --warmup 0..1000")
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    args.out.mkdir(parents=True, exist_ok=True)
    caches = []
    for backend in args.backends:
        t = time.perf_counter()
        cached = cached_ledger(backend, args.out, args.events, SEED, rebuild=args.rebuild)
        caches.append(cached)
        print(
            f"{backend}: {'reused' if cached.reused else 'loaded'} {cached.where} "
            f"in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    month_events_path(args.out, args.events, SEED).unlink(missing_ok=True)  # all loaded
    start_load = loadavg()
    with tempfile.TemporaryDirectory(prefix="aifinops-bench-api-") as tmpdir:
        results = [measure(c, args, Path(tmpdir)) for c in caches]
    text = report(args, results, (start_load, loadavg()))
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
