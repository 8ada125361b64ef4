"""CLI start-up: wall time of `aifinops` invocations, each a fresh process.

Help of the root, of a command and of a group, and three cheap commands run for real:
`waste` and `report spend` on an empty, already migrated SQLite ledger, `price` on a
one-event file. Prints the median, min and max of --repeat runs after one warm-up
run, and the load average before and after (the figures move with the machine's load).

    .venv/bin/python bench/startup.py [--repeat 7] [--src DIR]

--src runs `aifinops` from another source tree (e.g. an older commit from `git archive`)
with this environment's libraries, to compare before and after a change.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aifinops.ledger.db import open_ledger

EVENT = '{"ts": "2026-11-01T10:00:00Z", "provider": "openai", "model": "gpt-4o"}\n'
CASES: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("waste", "--help"),
    ("price", "--help"),
    ("report", "spend", "--help"),
    ("waste",),
    ("report", "spend", "--month", "last"),
    ("price", "events.jsonl"),
)


def _command(src: Path | None) -> list[str]:
    if src is None:
        return [str(Path(sys.executable).with_name("aifinops"))]
    return [sys.executable, "-c", "import sys; from aifinops.cli import main; sys.exit(main())"]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--src", type=Path, default=None, help="another tree's src/ directory")
    args = parser.parse_args()
    command = _command(args.src)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "events.jsonl").write_text(EVENT)
        url = f"sqlite:///{work / 'ledger.db'}"
        open_ledger(url).dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
        env["AIFINOPS_DATABASE_URL"] = url
        if args.src is not None:
            env["PYTHONPATH"] = str(args.src.resolve())
        load_before = _load()
        rows = []
        for case in CASES:
            times = []
            for i in range(args.repeat + 1):
                t0 = time.perf_counter()
                subprocess.run(
                    [*command, *case], cwd=work, env=env, capture_output=True, check=True
                )
                if i:  # the first run warms the file cache
                    times.append(time.perf_counter() - t0)
            rows.append((" ".join(case), statistics.median(times), min(times), max(times)))
        load_after = _load()
    src = f" --src {args.src}" if args.src is not None else ""
    print(f"- command: `.venv/bin/python bench/startup.py --repeat {args.repeat}{src}`")
    python = platform.python_version()
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"- load average (1, 5, 15 min): {load_before} before, {load_after} after")
    print()
    print(f"| `aifinops …` | median of {args.repeat} | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for name, median, low, high in rows:
        print(f"| `{name}` | {median:.3f} s | {low:.3f} s | {high:.3f} s |")


if __name__ == "__main__":
    main()
