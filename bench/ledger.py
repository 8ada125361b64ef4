"""Ledger throughput: import events/s and peak memory, and `report spend` over a big month.

    .venv/bin/python bench/ledger.py [--events 1000000] [--report-events 10000000]
                                     [--backends sqlite,postgres] [--repeat 3]
                                     [--workdir bench/out/ledger]

For each backend, in one run:

1. import --events canonical events (`aifinops import events FILE`, a real subprocess
   through the console entry point) into a fresh ledger, --repeat times: the median
   wall time and its events/s, each run's events/s, and the subprocess's peak RSS; the
   same import of a quarter of the events shows whether memory stays flat;
2. a month of --report-events events (imported the same way, in a second fresh ledger)
   and `report spend --month M --by team,feature,day`: the in-process query (median,
   p50/p99 of 7) and the whole CLI command's wall time.

PostgreSQL uses AIFINOPS_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
with a schema of the benchmark's own, dropped at the end. Events come from the seeded
generator in bench/_ledger_fill.py (the synthetic company's shape, spread over one
month), shared with bench/api.py.
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

from _ledger_fill import MONTH, ROOT, backend_url, drop, generate, run_import

AIFINOPS = str(Path(sys.executable).with_name("aifinops"))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--report-events", type=int, default=10_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--repeat", type=int, default=3, help="imports of --events per backend (median shown)"
    )
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
        f"--report-events {args.report_events} --backends {args.backends} "
        f"--repeat {args.repeat}`"
    )
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; generated the files in {gen_s:.0f} s\n"
    )
    print(
        f"| backend | import events | time (median of {args.repeat}) | events/s | "
        "events/s, each run | peak RSS | peak RSS at ¼ size |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    report_rows = []
    for backend in args.backends.split(","):
        url, schema = backend_url(backend, args.workdir, "quarter")
        _, rss_small = run_import(url, small)
        drop(backend, schema)
        runs = []
        for _ in range(args.repeat):  # each into a fresh ledger
            url, schema = backend_url(backend, args.workdir, "import")
            runs.append(run_import(url, big))
            drop(backend, schema)
        seconds = statistics.median(s for s, _ in runs)
        each = ", ".join(f"{args.events / s:,.0f}" for s, _ in runs)
        rss = max(r for _, r in runs)
        print(
            f"| {backend} | {args.events:,} | {seconds:.1f} s | {args.events / seconds:,.0f} | "
            f"{each} | {rss:.0f} MiB | {rss_small:.0f} MiB |"
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
