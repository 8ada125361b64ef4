"""Unit economics: `report outcomes` over a month of 10,000,000 events and ~1,000,000 outcomes.

    .venv/bin/python bench/economics.py [--events 10000000] [--reps 15] [--warmup 2]
                                        [--backends sqlite,postgres] [--out bench/out/economics]
                                        [--rebuild] [--keep-outcomes] [--no-pycache]
                                        [--report FILE]

Issue 8's goal: `report outcomes` for a month of 10,000,000 events and 1,000,000 outcomes
in ≤ 3 s on SQLite and PostgreSQL. For each backend, in one run:

1. a ledger holding the seeded units month of --events events (bench/_ledger_fill.py,
   ``units=True``: units of work of about 10 calls each, one feature, customer and
   prompt version per unit), loaded with `aifinops import events` in a subprocess. A
   finished load is kept and reused: SQLite in OUT/units_month_N_sSEED.db (a .json
   marker beside it), PostgreSQL in the schema aifinops_bench_units_month_N_sSEED. The
   generated events file is deleted once every backend asked for is loaded.
2. its outcomes (one for 98% of the units, after the unit's last call; success at the
   synthetic company's rate per feature, quality 0-1, a value on successful
   qualifications), imported with a real `aifinops import outcomes FILE` subprocess
   into a ledger with no outcome yet (outcomes, outcome_daily and unit_rollup.outcomes
   are reset first, so every run imports the same ~1 M): wall time and outcomes/s. On
   PostgreSQL, VACUUM ANALYZE of the three tables follows, as autovacuum would do.
   --keep-outcomes skips the import when the outcomes are already there.
3. `aifinops report outcomes --month M --by BY --format json --config OUT/aifinops.yaml`
   (the synthetic company's 8 features with their human costs or values) for --by
   feature, feature,customer and feature,prompt_version: --warmup then --reps rounds,
   each running, in alternating order, the CLI as a real subprocess (wall time, Python
   start-up included), the same report in this process through what the command calls
   (`effective_economics`, `numbers.compute`, `document.economics_document` on a pooled
   connection) and `aifinops --help` (the CLI's start-up alone). The CLI's JSON is
   checked against the in-process document, and the totals against the data (calls =
   --events, outcomes = imported, open units = units without one).
4. the in-process call split into compute's three queries (rollup_daily, outcome_daily,
   unit_rollup) and the document, to show what dominates; and after all runs
   `aifinops --help` again with and without cached bytecode.

CLI subprocesses keep compiled bytecode under OUT/pycache (PYTHONPYCACHEPREFIX), as an
installed package has it, whatever PYTHONDONTWRITEBYTECODE says (--no-pycache: the
environment's setting). Prints a Markdown report for docs/benchmarks.md (--report FILE
writes it too) and leaves every measured time in OUT/runs.json. PostgreSQL is
AIFINOPS_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine

from _ledger_fill import (
    MONTH,
    ROOT,
    Cached,
    cached_ledger,
    month_events_path,
    month_outcomes,
    pg_base_url,
)

SEED = 1
FIRST = date.fromisoformat(f"{MONTH}-01")
LAST = date(FIRST.year, FIRST.month, 31)
VARIANTS = ("feature", "feature,customer", "feature,prompt_version")
GOAL_S = 3.0
PIECES = ("rollup_daily", "outcome_daily", "unit_rollup", "document")


def aifinops_exe() -> str:
    """The `aifinops` console script next to this interpreter."""
    return str(Path(sys.executable).with_name("aifinops"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def versions() -> str:
    names = ("aifinops", "sqlalchemy", "psycopg", "typer", "numpy")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def write_config(path: Path) -> None:
    """An aifinops.yaml with the synthetic company's 8 features and their yardsticks."""
    from aifinops.sim.company.config import RED_LINE, TARGET_RATIO
    from aifinops.sim.company.spec import FEATURES

    features = []
    for f in FEATURES:
        entry: dict[str, Any] = {"name": f.name, "team": f.team, "outcome_type": f.outcome_type}
        if f.human_cost_usd is not None:
            entry["human_cost_usd"] = f.human_cost_usd
        if f.value_per_outcome_usd is not None:
            entry["value_per_outcome_usd"] = f.value_per_outcome_usd
        entry.update(target_ratio=TARGET_RATIO, red_line=RED_LINE)
        features.append(entry)
    path.write_text(yaml.safe_dump({"features": features}, sort_keys=False), encoding="utf-8")


def cli_env(url: str | None, pycache: Path | None) -> dict[str, str]:
    """A CLI subprocess's environment: this ledger, no stray AIFINOPS_ setting, and
    compiled bytecode kept in ``pycache`` (as an installed package has it; None: the
    environment's own setting, which may compile every module at each start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    if url is not None:
        env["AIFINOPS_DATABASE_URL"] = url
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


@dataclass(slots=True)
class Timing:
    """Wall times in seconds over the measured repetitions."""

    runs: list[float] = field(default_factory=list)

    def s(self, what: str) -> float:
        values = np.array(self.runs)
        if what == "median":
            return float(statistics.median(values))
        if what == "min":
            return float(values.min())
        if what == "max":
            return float(values.max())
        return float(np.percentile(values, float(what[1:])))


@dataclass(slots=True)
class Variant:
    by: str
    cli: Timing
    direct: Timing
    startup: Timing
    pieces: dict[str, Timing]
    rows: int
    body_bytes: int


@dataclass(slots=True)
class Measured:
    cached: Cached
    server: str
    units: int
    outcomes: int
    open_units: int
    import_s: float | None  # None: not imported in this run (--keep-outcomes)
    vacuum_s: float | None
    sizes: dict[str, int]
    variants: list[Variant]
    statuses: dict[str, str]


# --- outcomes: reset and import ---------------------------------------------------------


def reset_outcomes(engine: Engine, backend: str) -> None:
    """Back to the loaded events with no outcome: the state `import outcomes` starts from."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outcomes"))
        conn.execute(text("DELETE FROM outcome_daily"))
        conn.execute(text("UPDATE unit_rollup SET outcomes = 0 WHERE outcomes <> 0"))
    if backend == "postgres":
        vacuum(engine)


def vacuum(engine: Engine) -> float:
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE outcomes, outcome_daily, unit_rollup"))
    return time.perf_counter() - t


def import_outcomes(url: str, path: Path, config: Path, pycache: Path | None) -> tuple[float, int]:
    """(seconds, outcomes imported) of a real `aifinops import outcomes` subprocess."""
    argv = [aifinops_exe(), "import", "outcomes", str(path), "--config", str(config)]
    env = cli_env(url, pycache)
    t = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    found = re.search(r"imported ([\d,]+)", proc.stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"import outcomes failed: {proc.stdout[-1000:]}{proc.stderr[-2000:]}")
    return seconds, int(found.group(1).replace(",", ""))


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def sizes(engine: Engine) -> dict[str, int]:
    month = f"'{FIRST}' AND '{LAST}'"
    return {
        "rollup_daily": count(
            engine, f"SELECT count(*) FROM rollup_daily WHERE day BETWEEN {month}"
        ),
        "outcome_daily": count(
            engine, f"SELECT count(*) FROM outcome_daily WHERE day BETWEEN {month}"
        ),
        "unit_rollup": count(
            engine, f"SELECT count(*) FROM unit_rollup WHERE first_day BETWEEN {month}"
        ),
    }


# --- the report, two ways ---------------------------------------------------------------


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


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in doc["meta"].items() if k != "generated_at"}
    return {"rows": doc["rows"], "totals": doc["totals"], "meta": meta}


def cli_argv(by: str, config: Path) -> list[str]:
    return [
        aifinops_exe(),
        "report",
        "outcomes",
        "--month",
        MONTH,
        "--by",
        by,
        "--format",
        "json",
        "--config",
        str(config),
    ]


def run_cli(argv: list[str], env: dict[str, str]) -> bytes:
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {proc.stderr.decode()[-2000:]}")
    return proc.stdout


def pieces(engine: Engine, settings: Any, by: str, reps: int) -> dict[str, Timing]:
    """The in-process call split: each of compute's three queries, then the document."""
    from aifinops.economics import numbers
    from aifinops.economics.document import economics_document
    from aifinops.economics.store import effective_economics
    from aifinops.ledger.queries import EVERYTHING
    from aifinops.ledger.schema import rollup_daily
    from aifinops.ledger.schema_economics import outcome_daily

    query = numbers.EconomicsQuery(FIRST, LAST, numbers.parse_by(by))
    lo = min(query.start, query.end - timedelta(days=numbers.TREND_DAYS - 1))
    out = {name: Timing() for name in PIECES}
    for _ in range(reps):
        with engine.connect() as conn:
            t = time.perf_counter()
            numbers._sums(conn, rollup_daily, numbers._SPEND, query, EVERYTHING, lo, LAST, True)
            out["rollup_daily"].runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            numbers._sums(conn, outcome_daily, numbers._OUTCOMES, query, EVERYTHING, lo, LAST, True)
            out["outcome_daily"].runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            numbers._open_units(conn, query, EVERYTHING, defaultdict(numbers.GroupFigures))
            out["unit_rollup"].runs.append(time.perf_counter() - t)
            result = numbers.compute(conn, query)
        economics = effective_economics(engine, settings.economics)
        t = time.perf_counter()
        economics_document(result, economics)
        out["document"].runs.append(time.perf_counter() - t)
    return out


def measure_variant(
    engine: Engine, url: str, settings: Any, config: Path, by: str, args: argparse.Namespace
) -> tuple[Variant, dict[str, Any]]:
    from aifinops.economics.document import economics_document
    from aifinops.economics.numbers import EconomicsQuery, compute, parse_by
    from aifinops.economics.store import effective_economics

    query = EconomicsQuery(FIRST, LAST, parse_by(by))

    def direct() -> dict[str, Any]:
        economics = effective_economics(engine, settings.economics)
        with engine.connect() as conn:
            return economics_document(compute(conn, query), economics)

    argv, env = cli_argv(by, config), cli_env(url, args.pycache)
    body = run_cli(argv, env)
    doc = direct()
    if comparable(json.loads(body)) != comparable(doc):
        raise SystemExit(f"--by {by}: the CLI's JSON differs from the in-process document")
    ways: dict[str, Callable[[], object]] = {
        "cli": lambda: run_cli(argv, env),
        "direct": direct,
        "startup": lambda: run_cli([aifinops_exe(), "--help"], env),
    }
    times = interleaved(ways, args.warmup, args.reps)
    variant = Variant(
        by,
        Timing(times["cli"]),
        Timing(times["direct"]),
        Timing(times["startup"]),
        pieces(engine, settings, by, max(3, args.reps // 3)),
        rows=len(doc["rows"]),
        body_bytes=len(body),
    )
    return variant, doc


def check(doc: dict[str, Any], backend: str, events: int, outcomes: int, open_units: int) -> None:
    totals = doc["totals"]
    want = {"calls": events, "outcomes": outcomes, "open_units": open_units}
    got = {k: totals[k] for k in want}
    if got != want:
        raise SystemExit(f"{backend}: totals {got}, expected {want}")


def server_version(backend: str) -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(pg_base_url()) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def measure(cached: Cached, args: argparse.Namespace, config: Path, outcomes: Path) -> Measured:
    from aifinops.ledger.db import open_ledger
    from aifinops.settings import load_settings

    settings = load_settings(environ={}, config_path=config)
    engine = open_ledger(cached.url)
    try:
        units = count(engine, "SELECT count(*) FROM unit_rollup")
        expected = sum(1 for _ in outcomes.open("rb"))
        vacuum_s: float | None = None
        have = count(engine, "SELECT count(*) FROM outcomes")
        if args.keep_outcomes and have == expected:
            import_s, imported = None, have
        else:
            reset_outcomes(engine, cached.backend)
            print(f"{cached.backend}: importing {expected:,} outcomes", file=sys.stderr)
            import_s, imported = import_outcomes(cached.url, outcomes, config, args.pycache)
            if imported != expected:
                raise SystemExit(f"{cached.backend}: imported {imported:,}, not {expected:,}")
        if cached.backend == "postgres":
            vacuum_s = vacuum(engine)
        open_units = count(engine, "SELECT count(*) FROM unit_rollup WHERE outcomes = 0")
        variants = []
        statuses: dict[str, str] = {}
        for by in VARIANTS:
            print(f"{cached.backend}: --by {by}", file=sys.stderr)
            variant, doc = measure_variant(engine, cached.url, settings, config, by, args)
            check(doc, cached.backend, cached.events, imported, open_units)
            variants.append(variant)
            if by == "feature":
                statuses = {
                    r["feature"]: f"{r['status'] or '—'} / {r['recommendation']}"
                    for r in doc["rows"]
                }
        return Measured(
            cached,
            server_version(cached.backend),
            units,
            imported,
            open_units,
            import_s,
            vacuum_s,
            sizes(engine),
            variants,
            statuses,
        )
    finally:
        engine.dispose()


def bytecode_setting() -> str:
    names = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    found = [f"{n}={os.environ[n]}" for n in names if n in os.environ]
    return ", ".join(found) or "default"


def startup(reps: int, pycache: Path | None) -> Timing:
    """`aifinops --help`: the interpreter, the CLI's imports and Typer, nothing else."""
    timing = Timing()
    env = cli_env(None, pycache)
    for i in range(reps + 1):
        t = time.perf_counter()
        subprocess.run([aifinops_exe(), "--help"], env=env, capture_output=True, check=True)
        if i:
            timing.runs.append(time.perf_counter() - t)
    return timing


# --- the report --------------------------------------------------------------------------


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def header(args: argparse.Namespace, results: list[Measured], load: tuple[str, str]) -> list[str]:
    """How it was run: command, method, machine, data, and the outcome import."""
    backends = ",".join(m.cached.backend for m in results)
    lines = [
        "# Unit economics benchmark\n",
        f"- command: `.venv/bin/python bench/economics.py --events {args.events} "
        f"--reps {args.reps} --warmup {args.warmup} --backends {backends}"
        + (" --keep-outcomes" if args.keep_outcomes else "")
        + (" --no-pycache" if args.pycache is None else "")
        + "`",
        f"- report: `aifinops report outcomes --month {MONTH} --by BY --format json --config "
        "aifinops.yaml` (the synthetic company's 8 features and yardsticks), "
        f"{args.reps} repetitions after {args.warmup} warm-up ones, a real subprocess "
        "interleaved with the in-process call (`effective_economics` + `numbers.compute` + "
        "`document.economics_document` on a pooled connection) and with `aifinops --help` "
        "(the CLI's start-up alone), alternating the order",
        "- CLI processes: "
        + (
            f"bytecode compiled once and kept under PYTHONPYCACHEPREFIX={args.pycache} "
            "(as an installed package has it)"
            if args.pycache
            else "the environment's bytecode setting"
        ),
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}, {versions()}; load average at start {load[0]}, "
        f"at the end {load[1]}",
    ]
    for m in results:
        how = (
            f"reused (loaded {m.cached.loaded_at} in {m.cached.load_s:.0f} s)"
            if m.cached.reused
            else f"loaded in this run in {m.cached.load_s:.0f} s"
        )
        sz = m.sizes
        lines.append(
            f"- {m.cached.backend}: {m.server}; {m.cached.events:,} events in {MONTH} "
            f"({m.units:,} units, {m.open_units:,} of them open), {m.outcomes:,} outcomes; "
            f"rows read for the month: rollup_daily {sz['rollup_daily']:,}, outcome_daily "
            f"{sz['outcome_daily']:,}, unit_rollup {sz['unit_rollup']:,}; {m.cached.where}, "
            f"events {how}"
        )
    lines += [
        "",
        "| backend | import outcomes | time (CLI, wall) | outcomes/s | then VACUUM ANALYZE |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        vac = _s(m.vacuum_s) if m.vacuum_s is not None else "—"
        if m.import_s is None:
            took = "not run (--keep-outcomes) | —"
        else:
            took = f"{m.import_s:.1f} s | {m.outcomes / m.import_s:,.0f}"
        lines.append(f"| {m.cached.backend} | {m.outcomes:,} | {took} | {vac} |")
    return lines


def report(
    args: argparse.Namespace,
    results: list[Measured],
    start: dict[str, Timing],
    load: tuple[str, str],
) -> str:
    lines = header(args, results, load)
    lines += [
        "",
        "| backend | `--by` | way | median | p50 | p99 | min | max | rows |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        for v in m.variants:
            rest = Timing([c - s for c, s in zip(v.cli.runs, v.startup.runs, strict=True)])
            for way, timing, rows in (
                ("CLI subprocess", v.cli, str(v.rows)),
                ("in-process", v.direct, str(v.rows)),
                ("`aifinops --help` (start-up)", v.startup, "—"),
                ("CLI − start-up, same round", rest, "—"),
            ):
                cells = " | ".join(_s(timing.s(w)) for w in ("median", "p50", "p99", "min", "max"))
                lines.append(f"| {m.cached.backend} | {v.by} | {way} | {cells} | {rows} |")
    lines.append("")
    for name, timing in start.items():
        lines.append(
            f"- `aifinops --help` after the runs, bytecode {name}: median "
            f"{_s(timing.s('median'))}, p99 {_s(timing.s('p99'))}"
        )
    lines += [
        "",
        "In-process call split (medians):",
        "",
        "| backend | `--by` | spend (rollup_daily) | outcomes (outcome_daily) "
        "| open units (unit_rollup) | document |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        for v in m.variants:
            cells = " | ".join(_s(v.pieces[p].s("median")) for p in PIECES)
            lines.append(f"| {m.cached.backend} | {v.by} | {cells} |")
    lines.append("")
    for m in results:
        lines.append(
            f"- {m.cached.backend} statuses (--by feature): "
            + "; ".join(f"{k} {v}" for k, v in m.statuses.items())
        )
    lines.append("")
    for m in results:
        for v in m.variants:
            verdict = "met" if v.cli.s("p99") <= GOAL_S else "NOT met"
            beyond = statistics.median(
                c - s for c, s in zip(v.cli.runs, v.startup.runs, strict=True)
            )
            lines.append(
                f"- {m.cached.backend}, --by {v.by}: CLI p50 {_s(v.cli.s('p50'))}, p99 "
                f"{_s(v.cli.s('p99'))} (goal ≤ {GOAL_S:.0f} s: {verdict}), of which start-up "
                f"p50 {_s(v.startup.s('p50'))}, the rest {_s(beyond)} (median over rounds); "
                f"in-process p50 {_s(v.direct.s('p50'))}, p99 {_s(v.direct.s('p99'))}"
            )
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the month")
    parser.add_argument("--reps", type=int, default=15, help="measured runs per way")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "out" / "economics",
        help="the cached ledgers and generated files (gitignored)",
    )
    parser.add_argument("--rebuild", action="store_true", help="load the events anew")
    parser.add_argument(
        "--keep-outcomes",
        action="store_true",
        help="reuse outcomes already imported instead of importing them again",
    )
    parser.add_argument(
        "--no-pycache",
        action="store_true",
        help="run the CLI with the environment's bytecode setting, not OUT/pycache",
    )
    parser.add_argument("--report", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or set(args.backends) - {"sqlite", "postgres"}:
        parser.error("--backends: sqlite, postgres or sqlite,postgres")
    if not (args.events >= 1 and 1 <= args.reps <= 1_000 and 0 <= args.warmup <= 100):
        parser.error("--events ≥ 1, --reps 1..1000, --warmup 0..100")
    args.out = args.out.resolve()
    args.pycache = None if args.no_pycache else args.out / "pycache"
    return args


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = args.out / "aifinops.yaml"
    write_config(config)
    caches = []
    for backend in args.backends:
        t = time.perf_counter()
        cached = cached_ledger(
            backend, args.out, args.events, SEED, rebuild=args.rebuild, units=True
        )
        caches.append(cached)
        print(
            f"{backend}: {'reused' if cached.reused else 'loaded'} {cached.where} "
            f"in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    month_events_path(args.out, args.events, SEED, units=True).unlink(missing_ok=True)
    outcomes = month_outcomes(args.out, args.events, SEED)
    start_load = loadavg()
    results = [measure(c, args, config, outcomes) for c in caches]
    start = {"cached": startup(args.reps, args.out / "pycache")}
    start[f"as the environment has it ({bytecode_setting()})"] = startup(args.reps, None)
    text_ = report(args, results, start, (start_load, loadavg()))
    print(text_)
    raw = {
        m.cached.backend: {
            v.by: {"cli": v.cli.runs, "direct": v.direct.runs, "startup": v.startup.runs}
            for v in m.variants
        }
        for m in results
    }
    (args.out / "runs.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    if args.report:
        args.report.write_text(text_, encoding="utf-8")


if __name__ == "__main__":
    main()
