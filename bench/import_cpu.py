"""An import's CPU split between the writing process and its worker, and its peak RSS.

    .venv/bin/python bench/import_cpu.py [--events 200000] [--in-flight N]
                                         [--idle-rollup-rows N] [--backend sqlite|postgres]

Imports bench/_ledger_fill.py's seeded file into a fresh ledger (SQLite, or a schema of
its own in AIFINOPS_BENCH_DATABASE_URL's PostgreSQL, dropped after) in this process
with `import_json_blocks` and one worker (as `aifinops import events` does on 2 cores;
a tree from before blocks, `import_json_lines`),
then prints the wall time, the CPU (user + system) of this process (the writer), of
the worker and, on PostgreSQL, of the server's processes (read from /proc) per event,
this process's peak RSS and the load average before and after.
Run it once per source tree with PYTHONPATH=<tree>/src to compare trees.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import time
from pathlib import Path

from _ledger_fill import ROOT, backend_url, drop, import_source
from aifinops.ingest import events, files
from aifinops.ledger.db import open_ledger
from aifinops.pricing import RateBook


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _server_cpu() -> float:
    """CPU seconds (user + system) of every running ``postgres`` process."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        if name.startswith("postgres"):
            fields = rest.split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--in-flight", type=int, help="override events.IN_FLIGHT")
    parser.add_argument(
        "--idle-rollup-rows", type=int, help="override events.IDLE_ROLLUP_ROWS (a huge value: off)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "import_ab")
    args = parser.parse_args()
    source = import_source(args.workdir, args.events)
    if args.in_flight:
        events.IN_FLIGHT = args.in_flight
    if args.idle_rollup_rows:
        events.IDLE_ROLLUP_ROWS = args.idle_rollup_rows
    url, schema = backend_url(args.backend, args.workdir, "cpu")
    engine = open_ledger(url)
    load = _load()
    writer, worker = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    server = _server_cpu()
    t = time.perf_counter()
    with source.open("rb") as binary:
        if hasattr(events, "import_json_blocks"):
            blocks = files.line_blocks(binary, events.BATCH_ROWS)
            summary = events.import_json_blocks(
                engine, blocks, "canonical", RateBook(), workers=args.workers, on_reject=print
            )
        else:  # a tree from before blocks: line by line
            lines = files.numbered_lines(binary)
            summary = events.import_json_lines(
                engine, lines, "canonical", RateBook(), workers=args.workers, on_reject=print
            )
    engine.dispose()  # the last connection's checkpoint is part of the import
    seconds = time.perf_counter() - t
    writer = _cpu(resource.RUSAGE_SELF) - writer
    worker = _cpu(resource.RUSAGE_CHILDREN) - worker
    server = _server_cpu() - server
    drop(args.backend, schema)
    n = summary.imported
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+)", status)
    rss = int(match.group(1)) // 1024 if match else 0
    print(
        f"{n:,} events in {seconds:.2f} s, {n / seconds:,.0f} events/s; writer process CPU "
        f"{writer / n * 1e6:.1f} µs/event, worker {worker / n * 1e6:.1f} µs/event"
        + (f", PostgreSQL {server / n * 1e6:.1f} µs/event" if schema else "")
        + "; "
        f"peak RSS {rss} MiB (load {load} -> {_load()})"
    )


if __name__ == "__main__":
    main()
