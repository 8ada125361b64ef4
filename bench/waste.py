"""Waste detectors: `aifinops waste --month M` over a month of 10,000,000 events.

    .venv/bin/python bench/waste.py [--events 10000000] [--reps 15] [--warmup 2]
                                    [--backends sqlite,postgres] [--out bench/out/api]
                                    [--rebuild] [--report FILE]

Issue 9's goal: `aifinops waste` over a 10,000,000-event month in ≤ 10 s on SQLite and
PostgreSQL. For each backend, in one run:

1. a ledger holding the seeded month of --events events (bench/_ledger_fill.py, the same
   generator and `aifinops import events` subprocess load as bench/ledger.py and
   bench/api.py, so the ledger writer fills ``waste_rollup`` at insert time). A finished
   load is kept and reused, and shared with bench/api.py and bench/dashboard.py (same
   seed, same --out). A cached ledger loaded before the waste rollup existed has
   an empty ``waste_rollup`` (migration 0010 does not backfill): it is filled here once
   from the raw events, day by day, with the writer's own upsert, and the time is
   reported separately (it is not part of `aifinops waste`).
2. `aifinops waste --month M --format json` as a real subprocess (wall time, Python
   start-up included) and the same document in this process (`waste_document` on a
   pooled connection), --warmup then --reps rounds, alternating; the CLI's findings are
   checked against the in-process ones.

Prints a Markdown report (p50, p99, min, max, rollup rows, findings) for
docs/benchmarks.md; --report FILE writes it too. PostgreSQL is
AIFINOPS_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from _ledger_fill import MONTH, ROOT, cached_ledger
from aifinops.ledger.db import open_ledger
from aifinops.ledger.waste_rollup import waste_upsert
from aifinops.ledger.writer import hour_sql
from aifinops.optimize.waste.report import WasteQuery, waste_document
from aifinops.optimize.waste_settings import WasteSettings
from aifinops.periods import parse_month
from aifinops.pricing import PricingEngine
from gateway import aifinops_exe, cpu_model, loadavg

SEED = 3  # bench/ledger.py's and bench/api.py's month: the same 10 M events


@dataclass(slots=True)
class Run:
    backend: str
    where: str
    events: int
    load_s: float
    reused: bool
    backfill_s: float | None = None
    rollup_rows: int = 0
    findings: int = 0
    cli_s: list[float] = field(default_factory=list)
    direct_s: list[float] = field(default_factory=list)
    help_s: list[float] = field(default_factory=list)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def backfill(engine: Any) -> float | None:
    """Fill an empty ``waste_rollup`` from the raw events (cached pre-0010 ledgers)."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM waste_rollup")).scalar_one():
            return None
    t = time.perf_counter()
    lo, hi = parse_month(MONTH)
    day = lo
    while day <= hi:
        with engine.begin() as conn:
            hour, day_sql = hour_sql(conn)
            bounds = f"ts >= '{day}' AND ts < '{day + timedelta(days=1)}'"
            source = f"(SELECT * FROM usage_events WHERE {bounds})"
            conn.exec_driver_sql(waste_upsert(source, hour, day_sql, conn.dialect.name))
        day += timedelta(days=1)
    return time.perf_counter() - t


def cli_once(url: str, cwd: Path) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "AIFINOPS_CONFIG"}
    env["AIFINOPS_DATABASE_URL"] = url
    t = time.perf_counter()
    proc = subprocess.run(
        [aifinops_exe(), "waste", "--month", MONTH, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"aifinops waste failed: {proc.stderr}")
    return seconds, json.loads(proc.stdout)


def help_once(cwd: Path) -> float:
    """`aifinops --help`: the CLI's start-up alone (interpreter and imports)."""
    t = time.perf_counter()
    subprocess.run([aifinops_exe(), "--help"], capture_output=True, check=True, cwd=cwd)
    return time.perf_counter() - t


def measure(backend: str, args: argparse.Namespace) -> Run:
    cached = cached_ledger(backend, args.out, args.events, SEED, rebuild=args.rebuild)
    run = Run(backend, cached.where, args.events, cached.load_s, cached.reused)
    engine = open_ledger(cached.url)  # migrates a ledger cached before revision 0010
    run.backfill_s = backfill(engine)
    if backend == "postgres":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE waste_rollup")
    with engine.connect() as conn:
        run.rollup_rows = conn.execute(text("SELECT count(*) FROM waste_rollup")).scalar_one()
    lo, hi = parse_month(MONTH)
    query = WasteQuery(lo, hi)
    pricing = PricingEngine()
    settings = WasteSettings()
    expected: dict[str, Any] | None = None
    for i in range(args.warmup + args.reps):
        order = ("cli", "direct", "help") if i % 2 == 0 else ("help", "direct", "cli")
        for what in order:
            if what == "help":
                seconds = help_once(args.out)
                if i >= args.warmup:
                    run.help_s.append(seconds)
            elif what == "cli":
                seconds, doc = cli_once(cached.url, args.out)
                if expected is not None:
                    assert doc["findings"] == expected["findings"], "CLI and in-process differ"
                if i >= args.warmup:
                    run.cli_s.append(seconds)
            else:
                t = time.perf_counter()
                with engine.connect() as conn:
                    expected = waste_document(conn, pricing, settings, query)
                seconds = time.perf_counter() - t
                if i >= args.warmup:
                    run.direct_s.append(seconds)
    assert expected is not None
    run.findings = len(expected["findings"])
    engine.dispose()
    return run


def report(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        f"`aifinops waste --month {MONTH} --format json` over {args.events:,} events "
        f"({args.reps} runs after {args.warmup} warm-up, alternating with the in-process "
        "call and `aifinops --help`, the CLI's start-up alone); command: "
        f"`.venv/bin/python bench/waste.py --events {args.events} --reps {args.reps} "
        f"--backends {','.join(args.backends)}`",
        "",
        "| backend | events | waste_rollup rows | findings | CLI p50 | CLI p99 | CLI max "
        "| in-process p50 | in-process p99 | `aifinops --help` p50 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        lines.append(
            f"| {r.backend} | {r.events:,} | {r.rollup_rows:,} | {r.findings} "
            f"| {statistics.median(r.cli_s):.2f} s | {_pct(r.cli_s, 0.99):.2f} s "
            f"| {max(r.cli_s):.2f} s | {statistics.median(r.direct_s) * 1000:.0f} ms "
            f"| {_pct(r.direct_s, 0.99) * 1000:.0f} ms | {statistics.median(r.help_s):.2f} s |"
        )
    lines.append("")
    for r in runs:
        load = "reused" if r.reused else f"loaded in {r.load_s:.0f} s"
        fill = (
            f"; waste_rollup backfilled from raw events in {r.backfill_s:.0f} s"
            if r.backfill_s is not None
            else ""
        )
        lines.append(f"- {r.backend}: {r.where} ({load}{fill})")
    lines.append(
        f"- machine: {cpu_model()}, {os.cpu_count()} cores, load average {loadavg()}, "
        f"Python {platform.python_version()}, {date.today()}"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "api")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [measure(b, args) for b in args.backends]
    text_out = report(runs, args)
    sys.stdout.write(text_out)
    if args.report:
        args.report.write_text(text_out, encoding="utf-8")


if __name__ == "__main__":
    main()
