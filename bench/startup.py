"""CLI start-up: wall time of `aifinops` invocations, each a fresh process.

Help of the root, of a command and of a group, and cheap commands run for real:
`waste` and `report spend` on an empty, already migrated SQLite ledger, `price` on a
one-event file, and `import events` of a 20-event file into a fresh ledger (created and
migrated by the command, as a first import is) and again into that ledger (20
duplicates). Prints the median, min and max of --repeat runs after one warm-up run, and
the load average before and after (the figures move with the machine's load).

    .venv/bin/python bench/startup.py [--repeat 7] [--src DIR] [--compare DIR]

--src runs `aifinops` from another source tree (e.g. an older commit from `git archive`)
with this environment's libraries. --compare DIR runs both trees in one run, alternating
them run by run, and prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aifinops.ledger.db import open_ledger

ROOT = Path(__file__).resolve().parents[1]
EVENT = '{"ts": "2026-11-01T10:00:00Z", "provider": "openai", "model": "gpt-4o"}\n'
SAMPLE = ROOT / "src" / "aifinops" / "data" / "sample_day.jsonl"
FRESH = "FRESH"  # stands for a new ledger's URL in a case
CASES: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("waste", "--help"),
    ("price", "--help"),
    ("report", "spend", "--help"),
    ("waste",),
    ("report", "spend", "--month", "last"),
    ("price", "events.jsonl"),
    (FRESH, "import", "events", "twenty.jsonl"),
    ("import", "events", "twenty.jsonl"),
)


def _command(src: Path | None) -> list[str]:
    if src is None:
        return [str(Path(sys.executable).with_name("aifinops"))]
    return [sys.executable, "-c", "import sys; from aifinops.cli import main; sys.exit(main())"]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _env(url: str, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    env["AIFINOPS_DATABASE_URL"] = url
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    return env


def _run(case: tuple[str, ...], src: Path | None, work: Path, url: str, n: int) -> float:
    if case[0] == FRESH:
        case, url = case[1:], f"sqlite:///{work / f'fresh-{n}.db'}"
    t0 = time.perf_counter()
    subprocess.run(
        [*_command(src), *case], cwd=work, env=_env(url, src), capture_output=True, check=True
    )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--src", type=Path, default=None, help="another tree's src/ directory")
    parser.add_argument("--compare", type=Path, default=None, help="a second tree's src/")
    args = parser.parse_args()
    trees: list[Path | None] = [args.src] if args.compare is None else [args.src, args.compare]
    counter = itertools.count()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "events.jsonl").write_text(EVENT)
        (work / "twenty.jsonl").write_text("".join(SAMPLE.read_text().splitlines(True)[:20]))
        url = f"sqlite:///{work / 'ledger.db'}"
        open_ledger(url).dispose()
        load_before = _load()
        rows = []
        for case in CASES:
            times: list[list[float]] = [[] for _ in trees]
            for i in range(args.repeat + 1):
                for k, src in enumerate(trees):
                    took = _run(case, src, work, url, next(counter))
                    if i:  # the first run warms the file cache
                        times[k].append(took)
            rows.append((" ".join(c for c in case if c != FRESH), FRESH in case, times))
        load_after = _load()
    src = f" --src {args.src}" if args.src is not None else ""
    compare = f" --compare {args.compare}" if args.compare is not None else ""
    print(f"- command: `.venv/bin/python bench/startup.py --repeat {args.repeat}{src}{compare}`")
    python = platform.python_version()
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"- load average (1, 5, 15 min): {load_before} before, {load_after} after")
    print()
    if args.compare is None:
        print(f"| `aifinops …` | median of {args.repeat} | min | max |")
        print("| --- | ---: | ---: | ---: |")
        for name, fresh, (times_one,) in rows:
            note = " (fresh ledger)" if fresh else ""
            low, high = min(times_one), max(times_one)
            print(
                f"| `{name}`{note} | {statistics.median(times_one):.3f} s "
                f"| {low:.3f} s | {high:.3f} s |"
            )
        return
    first, second = args.src or "this tree", args.compare
    print(f"| `aifinops …` | {first}: median | {second}: median | ratio (2nd / 1st) |")
    print("| --- | ---: | ---: | ---: |")
    for name, fresh, (one, two) in rows:
        note = " (fresh ledger)" if fresh else ""
        a, b = statistics.median(one), statistics.median(two)
        print(f"| `{name}`{note} | {a:.3f} s | {b:.3f} s | {b / a:.2f} |")


if __name__ == "__main__":
    main()
