"""Import throughput of two source trees, alternated: `aifinops import events` of one file.

    git archive <commit> src | tar -x -C /tmp/before      # the tree to compare against
    .venv/bin/python bench/import_ab.py [--events 200000] [--runs 3] \\
        before=/tmp/before/src after=src

Each run imports the same file (bench/_ledger_fill.py's seeded generator, the synthetic
company's month) into a fresh SQLite ledger in a real subprocess whose PYTHONPATH is
that tree, so both sides use this venv's dependencies; runs alternate between the
trees, and the load average is printed before and after each, since a shared machine's
load moves the figures more than many changes do (docs/benchmarks.md). The CPU time of
the import (its process and its workers, user + system) is printed per event too: it
moves less with the load than the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _ledger_fill import ROOT, import_source

#: The CLI, imported from the tree on PYTHONPATH (the venv's `aifinops` script would too).
_CLI = "from aifinops.cli import main; main()"


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _children_cpu() -> float:
    """User + system CPU seconds of the waited-for subprocesses (and their workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("trees", nargs="+", help="label=path/to/src")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "import_ab")
    args = parser.parse_args()
    source = import_source(args.workdir, args.events)
    trees = [spec.split("=", 1) for spec in args.trees]
    for run in range(1, args.runs + 1):
        for label, tree in trees:
            db = args.workdir / f"{label}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            env = {
                **os.environ,
                "AIFINOPS_DATABASE_URL": f"sqlite:///{db}",
                "PYTHONPATH": str(Path(tree).resolve()),
            }
            load = _load()
            cpu = _children_cpu()
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _CLI, "import", "events", str(source)],
                env=env,
                check=True,
                capture_output=True,
            )
            seconds = time.perf_counter() - t
            cpu = _children_cpu() - cpu
            print(
                f"{label} run {run}: {seconds:.1f} s, {args.events / seconds:,.0f} events/s, "
                f"CPU {cpu:.1f} s = {cpu / args.events * 1e6:.1f} µs/event "
                f"(load {load} -> {_load()})",
                flush=True,
            )


if __name__ == "__main__":
    main()
