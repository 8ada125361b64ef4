"""The dashboard's overview page and each of its API calls, on a 10,000,000-event month.

    .venv/bin/python bench/dashboard.py [--events 10000000] [--reps 50] [--warmup 5]
                                        [--backends sqlite,postgres] [--out bench/out/api]
                                        [--rebuild] [--report FILE]

Issue 11's goal: the overview page and each of its API calls answer in ≤ 300 ms on a
10,000,000-event month. For each backend, in one run:

1. the ledger of bench/api.py (the same seeded month, cached in the same place, so a
   finished `make bench-api` load is reused and vice versa; see bench/_ledger_fill.py);
2. a real `aifinops serve --port 0` process (1 worker) on it and an admin API token
   made for the run (revoked at the end);
3. per round, one after the other: `GET /?from=…&to=…` (the overview, signed in by its
   cookie; the page makes its five API calls in-process, concurrently) and each of those
   five calls over HTTP with the token as Bearer, --warmup rounds then --reps measured.
   The page's headline figure is checked against the API's before timing.

Prints a Markdown report (median, p50, p99, min, max) for docs/benchmarks.md; --report
FILE writes it there too. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from _ledger_fill import MONTH, ROOT, Cached, cached_ledger, month_events_path
from api import (
    FIRST,
    GOAL_MS,
    LAST,
    SEED,
    Timing,
    admin_token,
    count_rollup,
    on_sigterm,
    revoke,
    server_version,
    start_serve,
    versions,
)
from gateway import cpu_model, loadavg

PERIOD = f"from={FIRST}&to={LAST}"
PAGE = f"/?{PERIOD}"
#: The overview's API calls for a past month, as `aifinops.web.pages.overview` makes them.
CALLS = {
    "spend by day, team, feature and model": f"/api/v1/spend?{PERIOD}&by=day,team,feature,model",
    "month to date": "/api/v1/spend?month=current&by=team",
    "budget status": "/api/v1/budgets/status",
}
HEADLINE = re.compile(r'id="spend-total"><span class="usd" data-usd="([0-9.]+)"')


@dataclass(slots=True)
class Measured:
    cached: Cached
    times: dict[str, Timing]
    page_bytes: int
    rollup_rows: int
    server: str


def measure(cached: Cached, args: argparse.Namespace, tmp: Path) -> Measured:
    from aifinops.ledger.db import create_ledger_engine

    token_id, secret = admin_token(cached.url)
    try:
        with contextlib.ExitStack() as stack:
            base = start_serve(stack, cached.url, tmp, cached.backend)
            api = stack.enter_context(
                httpx.Client(
                    base_url=base, headers={"authorization": f"Bearer {secret}"}, timeout=120
                )
            )
            page = stack.enter_context(
                httpx.Client(base_url=base, cookies={"aifinops_session": secret}, timeout=120)
            )
            html = page.get(PAGE)
            html.raise_for_status()
            shown = HEADLINE.search(html.text)
            totals = (
                api.get(CALLS["spend by day, team, feature and model"])
                .raise_for_status()
                .json()["totals"]
            )
            if shown is None or shown.group(1) != totals["effective_cost_usd"]:
                raise SystemExit(f"{cached.backend}: the page's spend differs from the API's")
            if totals["calls"] != cached.events:
                raise SystemExit(
                    f"{cached.backend}: {totals['calls']:,} calls, not {cached.events:,}"
                )
            ways = {"overview page": (page, PAGE), **{n: (api, p) for n, p in CALLS.items()}}
            times: dict[str, list[float]] = {name: [] for name in ways}
            for i in range(args.warmup + args.reps):
                for name, (client, path) in ways.items():
                    t = time.perf_counter()
                    client.get(path).raise_for_status()
                    if i >= args.warmup:
                        times[name].append(time.perf_counter() - t)
            page_bytes = len(html.content)
    finally:
        revoke(cached.url, token_id)
    engine = create_ledger_engine(cached.url)
    try:
        rollup_rows = count_rollup(engine)
    finally:
        engine.dispose()
    return Measured(
        cached,
        {name: Timing(runs) for name, runs in times.items()},
        page_bytes,
        rollup_rows,
        server_version(cached),
    )


def report(args: argparse.Namespace, results: list[Measured], load: tuple[str, str]) -> str:
    backends = ",".join(r.cached.backend for r in results)
    lines = [
        "# Dashboard benchmark\n",
        f"- command: `.venv/bin/python bench/dashboard.py --events {args.events} --reps "
        f"{args.reps} --warmup {args.warmup} --backends {backends}`",
        f"- requests: `GET {PAGE}` (the overview, signed in by its cookie: five API calls "
        "in-process, concurrently, then Jinja2) and each of its five API calls over HTTP "
        f"with an admin token; {args.reps} rounds after {args.warmup} warm-up ones, one "
        "keep-alive connection per client (httpx), bodies read whole",
        "- server: `aifinops serve --host 127.0.0.1 --port 0` (1 worker), a real process "
        "on the same machine as the client",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}, {versions()}; load average at start {load[0]}, "
        f"at the end {load[1]}",
    ]
    for r in results:
        cached = r.cached
        how = (
            f"reused (imported {cached.loaded_at} in {cached.load_s:.0f} s)"
            if cached.reused
            else f"imported in this run in {cached.load_s:.0f} s"
        )
        lines.append(
            f"- {cached.backend}: {r.server}; {cached.events:,} events in {MONTH} "
            f"({r.rollup_rows:,} daily rollup rows), {cached.where}, {how}; page "
            f"{r.page_bytes:,} bytes, its spend equal to the API's"
        )
    lines += [
        "",
        "| backend | request | median | p50 | p99 | min | max | reps |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    worst: list[str] = []
    for r in results:
        for name, timing in r.times.items():
            cells = " | ".join(
                f"{timing.ms(w):.1f} ms" for w in ("median", "p50", "p99", "min", "max")
            )
            lines.append(f"| {r.cached.backend} | {name} | {cells} | {len(timing.runs)} |")
            if timing.ms("p99") > GOAL_MS:
                worst.append(f"{r.cached.backend} {name} ({timing.ms('p99'):.1f} ms)")
    lines.append("")
    lines.append(
        f"- goal ≤ {GOAL_MS:.0f} ms at p99 for the page and each call: "
        + ("met" if not worst else "NOT met by " + ", ".join(worst))
    )
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the month")
    parser.add_argument("--reps", type=int, default=50, help="measured rounds")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured rounds first")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "out" / "api",
        help="the cached ledgers (shared with bench/api.py; gitignored)",
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
    with tempfile.TemporaryDirectory(prefix="aifinops-bench-dashboard-") as tmpdir:
        results = [measure(c, args, Path(tmpdir)) for c in caches]
    text = report(args, results, (start_load, loadavg()))
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
