"""Ledger throughput: import events/s and peak memory, and `report spend` over a big month.

    .venv/bin/python bench/ledger.py [--events 1000000] [--report-events 10000000]
                                     [--backends sqlite,postgres] [--workdir bench/out/ledger]

For each backend, in one run:

1. import --events canonical events (`aifinops import events FILE`, a real subprocess)
   into a fresh ledger: wall time, events/s, and the subprocess's peak RSS; the same
   import of a quarter of the events shows whether memory stays flat;
2. a month of --report-events events (imported the same way, in a second fresh ledger)
   and `report spend --month M --by team,feature,day`: the in-process query (median,
   p50/p99 of 7) and the whole CLI command's wall time.

PostgreSQL uses AIFINOPS_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
with a schema of the benchmark's own, dropped at the end. Events come from a seeded
generator with the synthetic company's shape (8 features, 40 customers with a long
tail, prompt versions, cache use), spread over one month.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
AIFINOPS = str(Path(sys.executable).with_name("aifinops"))
MONTH = "2026-10"
FEATURES = [
    ("support", "ticket-resolution", "anthropic", "claude-sonnet-4-5"),
    ("support", "case-summary", "anthropic", "claude-haiku-4-5"),
    ("support", "ticket-triage", "anthropic", "claude-opus-4-5"),
    ("sales", "lead-qualification", "anthropic", "claude-sonnet-4-5"),
    ("sales", "email-drafting", "openai", "gpt-4o-mini"),
    ("success", "account-health", "openai", "gpt-4.1"),
    ("success", "renewal-brief", "anthropic", "claude-sonnet-4-5"),
    ("platform", "internal-search", "openai", "text-embedding-3-small"),
]


def generate(path: Path, n: int, seed: int) -> None:
    """Write n canonical events spread over MONTH (streamed in chunks: memory stays flat)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(f"{MONTH}-01T00:00:00", "s")
    weights = 1 / np.arange(1, 41) ** 1.1
    weights /= weights.sum()
    with path.open("wb") as out:
        for lo in range(0, n, 200_000):
            m = min(200_000, n - lo)
            f = rng.integers(0, len(FEATURES), m)
            cust = rng.choice(40, size=m, p=weights)
            secs = rng.integers(0, 31 * 86_400, m)
            version = rng.integers(1, 4, m)
            inp = rng.integers(200, 6_000, m)
            cached = rng.integers(0, 8_000, m) * (rng.random(m) < 0.5)
            outp = rng.integers(20, 1_500, m)
            lines = []
            for i in range(m):
                team, feature, provider, model = FEATURES[f[i]]
                lines.append(
                    orjson.dumps(
                        {
                            "event_id": f"bench-{seed}-{lo + i}",
                            "ts": str(start + secs[i]) + "Z",
                            "provider": provider,
                            "model": model,
                            "team": team,
                            "feature": feature,
                            "customer_id": f"cust-{cust[i]:03d}",
                            "prompt_version": f"v{version[i]}",
                            "unit_id": f"u-{(lo + i) // 3}",
                            "input_tokens": int(inp[i]),
                            "cache_read_tokens": int(cached[i]),
                            "output_tokens": int(outp[i]) if feature != "internal-search" else 0,
                            "max_tokens": 2048,
                            "stop_reason": "end_turn",
                            "status": 200,
                        }
                    )
                )
            out.write(b"\n".join(lines) + b"\n")


_MEASURED_IMPORT = """
import sys
from aifinops.cli import app
try:
    app(["import", "events", sys.argv[1]])
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(hwm.split()[1], file=sys.stderr)
sys.exit(code)
"""


def run_import(url: str, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `aifinops import events` in a fresh subprocess."""
    env = {**os.environ, "AIFINOPS_DATABASE_URL": url}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED_IMPORT, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr[-2000:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def time_report(url: str) -> dict[str, Any]:
    from aifinops.ledger.db import open_ledger
    from aifinops.ledger.queries import SpendQuery, spend

    engine = open_ledger(url)
    query = SpendQuery(date(2026, 10, 1), date(2026, 10, 31), by=("team", "feature", "day"))
    runs = []
    rows = 0
    for _ in range(7):
        t = time.perf_counter()
        with engine.connect() as conn:
            result = spend(conn, query)
        runs.append(time.perf_counter() - t)
        rows = len(result.rows)
    engine.dispose()
    env = {**os.environ, "AIFINOPS_DATABASE_URL": url}
    t = time.perf_counter()
    subprocess.run(
        [
            AIFINOPS,
            "report",
            "spend",
            "--month",
            MONTH,
            "--by",
            "team,feature,day",
            "--format",
            "json",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    cli = time.perf_counter() - t
    return {
        "median": statistics.median(runs),
        "p50": float(np.percentile(runs, 50)),
        "p99": float(np.percentile(runs, 99)),
        "rows": rows,
        "cli": cli,
    }


def backend_url(backend: str, workdir: Path, name: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        db = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}", None
    base = os.environ.get(
        "AIFINOPS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    schema = f"aifinops_bench_{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop(backend: str, schema: str | None) -> None:
    if backend == "postgres" and schema:
        base = os.environ.get(
            "AIFINOPS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--report-events", type=int, default=10_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "ledger")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    small, big, month = (args.workdir / f"{n}.jsonl" for n in ("quarter", "import", "month"))
    t = time.perf_counter()
    generate(small, args.events // 4, seed=2)
    generate(big, args.events, seed=1)
    generate(month, args.report_events, seed=3)
    gen_s = time.perf_counter() - t

    print("# Ledger benchmark\n")
    print(
        f"- command: `.venv/bin/python bench/ledger.py --events {args.events} "
        f"--report-events {args.report_events} --backends {args.backends}`"
    )
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; generated the files in {gen_s:.0f} s\n"
    )
    print("| backend | import events | time | events/s | peak RSS | peak RSS at ¼ size |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    report_rows = []
    for backend in args.backends.split(","):
        url, schema = backend_url(backend, args.workdir, "quarter")
        _, rss_small = run_import(url, small)
        drop(backend, schema)
        url, schema = backend_url(backend, args.workdir, "import")
        seconds, rss = run_import(url, big)
        drop(backend, schema)
        print(
            f"| {backend} | {args.events:,} | {seconds:.1f} s | {args.events / seconds:,.0f} | "
            f"{rss:.0f} MiB | {rss_small:.0f} MiB |"
        )
        url, schema = backend_url(backend, args.workdir, "month")
        load_s, _ = run_import(url, month)
        timing = time_report(url)
        report_rows.append((backend, load_s, timing))
        drop(backend, schema)
    print(
        f"\n`report spend --month {MONTH} --by team,feature,day` over "
        f"{args.report_events:,} events:\n"
    )
    print("| backend | loaded in | query median (7 runs) | p50 | p99 | rows | whole CLI command |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, load_s, tm in report_rows:
        print(
            f"| {backend} | {load_s:.0f} s | {tm['median'] * 1000:.0f} ms | "
            f"{tm['p50'] * 1000:.0f} ms | {tm['p99'] * 1000:.0f} ms | {tm['rows']} | "
            f"{tm['cli']:.2f} s |"
        )


if __name__ == "__main__":
    main()
