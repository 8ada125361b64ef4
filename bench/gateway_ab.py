"""Gateway latency of two (or more) source trees at 1 client, alternated in one run.

    git archive <commit> src | tar -x -C /tmp/before      # the tree to compare against
    .venv/bin/python bench/gateway_ab.py [--duration 6] [--warmup 2] [--rounds 5] \\
        [--clients 1] [--modes whole,stream] before=/tmp/before/src after=src

One `aifinops sim --latency-profile zero` upstream; in front of it one `aifinops serve`
per tree (a real process whose PYTHONPATH is that tree, so every side uses this venv's
dependencies; its own SQLite ledger and spool, recording on), set up as in
bench/gateway.py. Each round runs wrk (bench/gateway.lua) against direct, then every
tree, per mode: a warm-up, then the measured run; the order of the trees turns every
round, so a shared machine's load drifts over all of them alike. The report gives each
tree's median p50/p99 and the median of its per-round added latency (its p50/p99 minus
direct's p50/p99 of the same round), with the load average before and after. At the
end each gateway's ledger rows are counted against the requests wrk completed and its
recorder's dropped-event counter is read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gateway import (
    CUSTOMER,
    HOST,
    MODES,
    Run,
    Target,
    check_answer,
    gateway_env,
    ledger_counts,
    loadavg,
    metric,
    queue_depth,
    spawn,
    start_sim,
    wait_http,
    wait_listening,
    wrk,
)

_CLI = "from aifinops.cli import main; main()"


def start_tree(stack: contextlib.ExitStack, tmp: Path, label: str, tree: Path, sim: int) -> Target:
    """`aifinops serve` from ``tree`` with its own ledger, spool and gateway key."""
    folder = tmp / label
    folder.mkdir()
    env = gateway_env(folder, sim) | {"PYTHONPATH": str(tree.resolve())}
    argv = [sys.executable, "-c", _CLI]
    made = subprocess.run(
        [*argv, "keys", "create", "--team", "bench", "--feature", "gateway-bench"],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"{label}: aifinops keys create failed:\n{made.stdout}\n{made.stderr}")
    secret = made.stdout.strip().splitlines()[-1].strip()
    log = folder / "serve.log"
    proc = spawn(stack, [*argv, "serve", "--host", HOST, "--port", "0"], log, env, signal.SIGINT)
    port = wait_listening(proc, log, "gateway listening on", 30)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 20)
    headers = [f"Authorization: Bearer {secret}", f"x-aifinops-customer: {CUSTOMER}"]
    return Target("aifinops", label, port, "/openai/v1/chat/completions", headers, proc, str(tree))


def drain(target: Target) -> None:
    t0 = time.monotonic()
    while queue_depth(target) > 0 and time.monotonic() - t0 < 120:
        time.sleep(0.01)


def med(values: list[float]) -> float:
    return float(statistics.median(values))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("trees", nargs="+", help="label=path/to/src")
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    args.modes = args.modes.split(",")
    args.trees = [(label, Path(path)) for label, path in (s.split("=", 1) for s in args.trees)]
    return args


def measure(
    args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack
) -> tuple[dict[tuple[str, str], list[Run]], list[str], list[str]]:
    """Every round: per mode, direct then each tree (order turning); then the ledgers."""
    runs: dict[tuple[str, str], list[Run]] = {}
    loads: list[str] = []
    direct, sim = start_sim(stack, tmp)
    gateways = [start_tree(stack, tmp, label, tree, direct.port) for label, tree in args.trees]
    completed = {g.label: 0 for g in gateways}
    for g in gateways:
        for mode in MODES:
            check_answer(g, mode)
            completed[g.label] += 1
    roots = {"sim": sim.pid} | {g.label: g.proc.pid for g in gateways if g.proc}
    for r in range(args.rounds):
        order = gateways[r % len(gateways) :] + gateways[: r % len(gateways)]
        for mode in args.modes:
            for target in [direct, *order]:
                name = "direct" if target is direct else target.label
                for seconds, kept in ((args.warmup, False), (args.duration, True)):
                    run = wrk(target, mode, args.clients, seconds, roots)
                    if target is not direct:
                        completed[name] += run.requests
                        drain(target)
                    if kept:
                        runs.setdefault((name, mode), []).append(run)
        loads.append(loadavg())
        print(f"round {r + 1}/{args.rounds} done, load {loads[-1]}", file=sys.stderr)
    checks = []
    time.sleep(0.5)
    for g in gateways:
        drain(g)
        rows, _ = ledger_counts(tmp / g.label / "ledger.db")
        dropped = metric(g, "aifinops_recorder_events_dropped_total")
        extra = rows - completed[g.label]
        inflight = args.rounds * len(args.modes) * 2 * args.clients
        ok = 0 <= extra <= inflight and dropped == 0
        checks.append(
            f"- {g.label}: wrk completed {completed[g.label]:,}, ledger rows {rows:,} "
            f"({extra:+,}; up to {inflight} in flight at wrk's stops), dropped "
            f"{dropped:.0f}: {'ok' if ok else 'NOT ok'}"
        )
    return runs, loads, checks


def report(args: argparse.Namespace, runs: dict[tuple[str, str], list[Run]]) -> None:
    print("| tree | mode | req/s | p50 | p99 | added p50 | added p99 | proxy CPU/req |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in args.modes:
        d = runs[("direct", mode)]
        p50, p99 = med([x.p50_ms for x in d]), med([x.p99_ms for x in d])
        rps = med([x.rps for x in d])
        print(f"| direct | {mode} | {rps:,.0f} | {p50:.3f} ms | {p99:.3f} ms | — | — | — |")
        for label, _ in args.trees:
            rs = runs[(label, mode)]
            a50 = med([x.p50_ms - y.p50_ms for x, y in zip(rs, d, strict=True)])
            a99 = med([x.p99_ms - y.p99_ms for x, y in zip(rs, d, strict=True)])
            cpu = med([x.cpu[label] / x.rps * 1000 for x in rs if x.rps])
            print(
                f"| {label} | {mode} | {med([x.rps for x in rs]):,.0f} | "
                f"{med([x.p50_ms for x in rs]):.3f} ms | {med([x.p99_ms for x in rs]):.3f} ms | "
                f"{a50:+.3f} ms | {a99:+.3f} ms | {cpu:.3f} ms |"
            )


def main() -> None:
    args = parse_args()
    load_before = loadavg()
    with (
        tempfile.TemporaryDirectory(prefix="aifinops-ab-") as tmpdir,
        contextlib.ExitStack() as stack,
    ):
        runs, loads, checks = measure(args, Path(tmpdir), stack)
    print(
        f"gateway A/B, {args.clients} client(s), {args.rounds} rounds of {args.warmup} s "
        f"warm-up + {args.duration} s measured; load {load_before} at start, per round: "
        + "; ".join(loads)
        + "\n"
    )
    report(args, runs)
    print()
    print("\n".join(checks))
    print(f"\nload at the end {loadavg()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
