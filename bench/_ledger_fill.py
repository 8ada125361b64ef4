"""Big ledgers for the benchmarks: a seeded month of events, imported the product's way.

Shared by bench/ledger.py (import throughput, the report query) and bench/api.py (the
spend endpoint over HTTP). Events come from a seeded generator with the synthetic
company's shape (8 features, 40 customers with a long tail, prompt versions, cache use),
spread over one month, and are loaded with `aifinops import events FILE` in a real
subprocess.

With ``units=True`` (bench/economics.py) the month is made of units of work instead
(`generate_units`): each unit (a ticket, lead, case) is one feature, customer and prompt
version with about 10 calls a few seconds to minutes apart, and most units get one
outcome after their last call, written to a matching outcomes file. Its cache has a
name and marker of its own, so the plain months above are never touched.

`cached_ledger` keeps a loaded month between runs: a SQLite file with a JSON marker
beside it, or a PostgreSQL schema whose comment is the marker. The marker is written
only after a load has finished, so an interrupted load is redone, never reused.
PostgreSQL is AIFINOPS_BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
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
#: Bump when `generate` changes what it writes: cached ledgers of older data are rebuilt.
GENERATOR_VERSION = 1
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get("AIFINOPS_BENCH_DATABASE_URL", DEFAULT_PG)


def import_source(workdir: Path, events: int) -> Path:
    """The import benchmarks' shared input: ``events-N.jsonl`` in ``workdir`` (seed 7),
    generated on first use."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"events-{events}.jsonl"
    if not source.exists():
        generate(source, events, seed=7)
    return source


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


#: Bump when `generate_units` changes what it writes: cached unit months are rebuilt.
UNITS_GENERATOR_VERSION = 1
#: Calls per unit of work: 1 + Poisson(UNIT_EXTRA_CALLS), so 9.8 on average.
UNIT_EXTRA_CALLS = 8.8
#: Share of units that get an outcome (the others stay open).
OUTCOME_SHARE = 0.98
#: Per feature, in FEATURES' order: outcome type, success rate and mean quality (None:
#: not graded), as the synthetic company has them (src/aifinops/sim/company/spec.py).
OUTCOME_SHAPES: tuple[tuple[str, float, float | None], ...] = (
    ("resolution", 0.74, 0.86),
    ("summary", 0.79, 0.77),
    ("routing", 0.96, None),
    ("qualification", 0.31, 0.84),
    ("draft", 0.82, 0.80),
    ("health_report", 0.88, 0.85),
    ("brief", 0.42, 0.62),
    ("answer", 0.71, 0.80),
)
_DAY_S = 86_400
_LAST_START_S = 21 * 3_600  # units start by 21:00 on the last day: all calls and outcomes
# stay in MONTH (a unit spans at most 18 gaps of 300 s, its outcome 1,800 s more)


@dataclass(frozen=True, slots=True)
class UnitMonth:
    """What `generate_units` wrote."""

    events: int
    units: int
    outcomes: int


def _unit_calls(rng: np.random.Generator, n: int) -> np.ndarray:
    """Calls per unit, adding up to exactly n (the last unit is cut short)."""
    blocks = []
    total = 0
    while total < n:
        block = 1 + rng.poisson(UNIT_EXTRA_CALLS, 1 + (n - total) // 8)
        blocks.append(block)
        total += int(block.sum())
    calls = np.concatenate(blocks)
    ends = np.cumsum(calls)
    last = int(np.searchsorted(ends, n))
    calls = calls[: last + 1].copy()
    calls[-1] -= int(ends[last]) - n
    return calls


def _month_days() -> int:
    first = np.datetime64(MONTH, "M")
    return int(((first + 1).astype("M8[D]") - first.astype("M8[D]")).astype(int))


def _iso(start: np.datetime64, secs: np.ndarray) -> list[str]:
    return [f"{t}Z" for t in np.datetime_as_string(start + secs.astype("m8[s]"), unit="s")]


def _unit_day(
    rng: np.random.Generator, seed: int, first: int, calls: np.ndarray, day: int, days: int
) -> tuple[bytearray, bytearray, int]:
    """(event lines, outcome lines, outcomes) of the units first..first+len(calls)-1
    starting on ``day``, each sorted by time."""
    u = len(calls)
    start = np.datetime64(f"{MONTH}-01T00:00:00", "s")
    weights = 1 / np.arange(1, 41) ** 1.1
    weights /= weights.sum()
    feature = rng.integers(0, len(FEATURES), u)
    cust = rng.choice(40, size=u, p=weights)
    version = rng.integers(1, 4, u)
    begin = day * _DAY_S + rng.integers(0, _LAST_START_S if day == days - 1 else _DAY_S, u)
    unit_of = np.repeat(np.arange(u), calls)
    e = len(unit_of)
    gaps = np.minimum(rng.exponential(30.0, e), 300.0).astype(np.int64)
    firsts = np.cumsum(calls) - calls
    gaps[firsts] = 0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[firsts], calls)
    secs = begin[unit_of] + offset
    last_call = secs[firsts + calls - 1]
    inp = rng.integers(200, 6_000, e)
    cached = rng.integers(0, 8_000, e) * (rng.random(e) < 0.5)
    outp = rng.integers(20, 1_500, e)
    has = rng.random(u) < OUTCOME_SHARE
    luck = rng.random(u)
    value = rng.integers(1_000, 20_000, u)
    quality = np.clip(rng.normal(0.0, 0.12, u), -1.0, 1.0)
    done = last_call + rng.integers(60, 1_801, u)
    unit_ids = [f"u{seed}-{first + k:07d}" for k in range(u)]
    order = np.argsort(secs, kind="stable")
    stamps = _iso(start, secs[order])
    events = bytearray()  # one buffer: orjson's bytes can carry kilobytes of slack
    for j, i in enumerate(order.tolist()):
        k = int(unit_of[i])
        team, name, provider, model = FEATURES[feature[k]]
        events += orjson.dumps(
            {
                "event_id": f"bench-units-{seed}-{first + k}-{i - firsts[k]}",
                "ts": stamps[j],
                "provider": provider,
                "model": model,
                "team": team,
                "feature": name,
                "customer_id": f"cust-{cust[k]:03d}",
                "prompt_version": f"v{version[k]}",
                "unit_id": unit_ids[k],
                "input_tokens": int(inp[i]),
                "cache_read_tokens": int(cached[i]),
                "output_tokens": int(outp[i]) if name != "internal-search" else 0,
                "max_tokens": 2048,
                "stop_reason": "end_turn",
                "status": 200,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
    closed = np.flatnonzero(has)
    closed = closed[np.argsort(done[closed], kind="stable")]
    done_at = _iso(start, done[closed])
    outcomes = bytearray()
    for j, k in enumerate(closed.tolist()):
        _, name, _, _ = FEATURES[feature[k]]
        kind, success_rate, mean_quality = OUTCOME_SHAPES[feature[k]]
        success = bool(luck[k] < success_rate)
        record: dict[str, object] = {
            "outcome_id": f"o-{unit_ids[k]}",
            "unit_id": unit_ids[k],
            "feature": name,
            "customer_id": f"cust-{cust[k]:03d}",
            "type": kind,
            "success": success,
            "ts": done_at[j],
        }
        if kind == "qualification" and success:
            record["value_usd"] = f"{value[k] / 100:.2f}"
        if mean_quality is not None:
            record["quality"] = round(min(max(mean_quality + float(quality[k]), 0.0), 1.0), 3)
        outcomes += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    return events, outcomes, len(closed)


def generate_units(events: Path | None, outcomes: Path | None, n: int, seed: int) -> UnitMonth:
    """Write n events of units of work over MONTH and their outcomes (JSONL, by time).

    Units start uniformly over the month; each has 1 + Poisson(8.8) calls 0-300 s apart
    (one feature, customer and prompt version), and OUTCOME_SHARE of them one outcome
    60-1,800 s after the last call: success at the feature's rate (OUTCOME_SHAPES),
    quality around its mean, a value_usd on successful qualifications. Either path may be
    None (not written); the data are the same. Written a day at a time: memory stays flat.
    """
    rng = np.random.default_rng(seed)
    calls = _unit_calls(rng, n)
    days = _month_days()
    per_day = np.bincount(rng.integers(0, days, len(calls)), minlength=days)
    written = 0
    with contextlib.ExitStack() as stack:
        out_e = stack.enter_context(events.open("wb")) if events else None
        out_o = stack.enter_context(outcomes.open("wb")) if outcomes else None
        first = 0
        for day in range(days):
            count = int(per_day[day])
            lines, done, closed = _unit_day(
                rng, seed, first, calls[first : first + count], day, days
            )
            first += count
            written += closed
            if out_e is not None:
                out_e.write(lines)
            if out_o is not None:
                out_o.write(done)
    return UnitMonth(n, len(calls), written)


_MEASURED_IMPORT = """
import atexit, sys
def peak():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(hwm.split()[1], file=sys.stderr)
atexit.register(peak)  # runs also when the command ends the process at once
sys.argv = ["aifinops", "import", "events", sys.argv[1]]
from aifinops.cli import main
main()
"""


def run_import(url: str, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `aifinops import events` in a fresh subprocess, run
    through the console entry point as a user runs it."""
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


def pg_url(schema: str) -> str:
    """The bench PostgreSQL URL pinned to ``schema`` (as AIFINOPS_DATABASE_URL takes it)."""
    return f"{pg_base_url()}?options=-csearch_path%3D{schema}"


def backend_url(backend: str, workdir: Path, name: str) -> tuple[str, str | None]:
    """A fresh, empty ledger: (URL, PostgreSQL schema or None); an old one is removed."""
    if backend == "sqlite":
        db = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}", None
    schema = f"aifinops_bench_{name}"
    with psycopg.connect(pg_base_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return pg_url(schema), schema


def drop(backend: str, schema: str | None) -> None:
    if backend == "postgres" and schema:
        with psycopg.connect(pg_base_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass(frozen=True, slots=True)
class Cached:
    """A loaded month: where it is, and how (and when) it was loaded."""

    backend: str
    url: str
    schema: str | None
    where: str  # the SQLite file or the PostgreSQL schema, for the report
    events: int
    load_s: float
    loaded_at: str
    reused: bool


def _marker(n: int, seed: int, units: bool = False) -> dict[str, object]:
    if units:
        return {"events": n, "seed": seed, "month": MONTH, "units": UNITS_GENERATOR_VERSION}
    return {"events": n, "seed": seed, "month": MONTH, "generator": GENERATOR_VERSION}


def _read_marker(backend: str, db: Path, schema: str) -> dict[str, object] | None:
    if backend == "sqlite":
        sidecar = db.with_suffix(".json")
        if not (db.exists() and sidecar.exists()):
            return None
        found: dict[str, object] = orjson.loads(sidecar.read_bytes())
        return found
    with psycopg.connect(pg_base_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        loaded: dict[str, object] = orjson.loads(row[0])
    except orjson.JSONDecodeError:
        return None
    return loaded


def _write_marker(backend: str, db: Path, schema: str, marker: dict[str, object]) -> None:
    text = orjson.dumps(marker)
    if backend == "sqlite":
        db.with_suffix(".json").write_bytes(text)
        return
    with psycopg.connect(pg_base_url(), autocommit=True) as conn:
        # the planner's statistics for the fresh tables, as autovacuum would make them later
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("VACUUM ANALYZE")
        literal = text.decode().replace("'", "''")
        conn.execute(f"COMMENT ON SCHEMA \"{schema}\" IS '{literal}'")


def month_events_path(workdir: Path, n: int, seed: int, *, units: bool = False) -> Path:
    if units:
        return workdir / f"units-month-{n}-s{seed}-u{UNITS_GENERATOR_VERSION}.jsonl"
    return workdir / f"month-{n}-s{seed}-g{GENERATOR_VERSION}.jsonl"


def month_outcomes_path(workdir: Path, n: int, seed: int) -> Path:
    """The outcomes of the units month (``units=True``) of n events."""
    return workdir / f"units-outcomes-{n}-s{seed}-u{UNITS_GENERATOR_VERSION}.jsonl"


def month_events(workdir: Path, n: int, seed: int, *, units: bool = False) -> Path:
    """The generated month's JSONL (written once, then reused while it exists).

    With ``units`` the units month, and its outcomes file beside it (`month_outcomes`).
    """
    path = month_events_path(workdir, n, seed, units=units)
    if not path.exists():
        partial = path.with_suffix(".partial")
        if units:
            outcomes = month_outcomes_path(workdir, n, seed)
            done = outcomes.with_suffix(".partial")
            generate_units(partial, done, n, seed)
            done.rename(outcomes)
        else:
            generate(partial, n, seed)
        partial.rename(path)
    return path


def month_outcomes(workdir: Path, n: int, seed: int) -> Path:
    """The units month's outcomes JSONL (written alone if the events file is gone)."""
    path = month_outcomes_path(workdir, n, seed)
    if not path.exists():
        partial = path.with_suffix(".partial")
        generate_units(None, partial, n, seed)
        partial.rename(path)
    return path


def cached_ledger(
    backend: str, workdir: Path, n: int, seed: int, *, rebuild: bool = False, units: bool = False
) -> Cached:
    """A ledger holding the seeded n-event month: reused when a finished load is there.

    SQLite: ``workdir/month-N-sSEED.db`` with ``.json`` beside it; PostgreSQL: schema
    ``aifinops_bench_month_N_sSEED`` whose comment is the same JSON. Otherwise the month
    is generated (``month_events``) and imported into a fresh ledger, then marked.
    With ``units`` the units month (`generate_units`; events only, its outcomes are
    not imported), named ``units_month_N_sSEED``.
    """
    name = f"units_month_{n}_s{seed}" if units else f"month_{n}_s{seed}"
    db = workdir / f"{name}.db"
    schema = f"aifinops_bench_{name}"
    where = str(db) if backend == "sqlite" else f"schema {schema}"
    want = _marker(n, seed, units)
    found = None if rebuild else _read_marker(backend, db, schema)
    if found is not None and all(found.get(k) == v for k, v in want.items()):
        url = f"sqlite:///{db}" if backend == "sqlite" else pg_url(schema)
        load_s = found.get("load_s")
        loaded_at = found.get("loaded_at")
        return Cached(
            backend,
            url,
            None if backend == "sqlite" else schema,
            where,
            n,
            float(load_s) if isinstance(load_s, int | float) else 0.0,
            str(loaded_at),
            reused=True,
        )
    events = month_events(workdir, n, seed, units=units)
    if backend == "sqlite":
        db.with_suffix(".json").unlink(missing_ok=True)
    url, made = backend_url(backend, workdir, name)
    seconds, _ = run_import(url, events)
    loaded_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    _write_marker(backend, db, schema, {**want, "load_s": seconds, "loaded_at": loaded_at})
    return Cached(backend, url, made, where, n, seconds, loaded_at, reused=False)
