"""Provider-simulator throughput: `aifinops sim` (zero latency) under wrk, one run.

    .venv/bin/python bench/sim.py [--duration 10] [--warmup 2] [--repeat 3]
                                  [--connections 16] [--threads 1]

Starts one `aifinops sim --host 127.0.0.1 --port 0 --latency-profile zero` process (a
real subprocess), checks one answer per scenario, then loads it with `wrk` (keep-alive
HTTP/1.1 connections, the same small non-streaming POST on every request, see
bench/sim.lua):

1. OpenAI `POST /v1/chat/completions` (gpt-4o-mini, max_completion_tokens 16);
2. Anthropic `POST /v1/messages` (claude-haiku-4-5, max_tokens 16);

each at --connections concurrent clients and at 1 client (latency baseline), after a
--warmup of each scenario. The measured runs are interleaved --repeat times; the report
gives the median requests/s (with min and max), median p50/p99 latency, errors (socket
errors and non-2xx answers, which must be 0) and the CPU the server and wrk used. The
server is stopped at the end, also on error. Only 127.0.0.1 is contacted.
Prints a Markdown report (machine, versions, figures) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "sim.lua"
HOST = "127.0.0.1"
GOAL_RPS = 3_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
WRK_INSTALL = (
    "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu, as root) or "
    "`brew install wrk` (macOS), then rerun."
)
SIM_ARGS = ["sim", "--host", HOST, "--port", "0", "--latency-profile", "zero"]
PROMPT = "Summarise our refund policy for annual plans in one sentence."
# name: (label, path, headers, body) -- the same request as bench/sim.lua sends.
SCENARIOS: dict[str, tuple[str, str, dict[str, str], dict[str, Any]]] = {
    "openai": (
        "OpenAI chat completions",
        "/v1/chat/completions",
        {"Authorization": "Bearer sk-bench"},
        {
            "model": "gpt-4o-mini",
            "max_completion_tokens": 16,
            "messages": [{"role": "user", "content": PROMPT}],
        },
    ),
    "anthropic": (
        "Anthropic messages",
        "/v1/messages",
        {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01"},
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": PROMPT}],
        },
    ),
}


@dataclass(frozen=True, slots=True)
class Run:
    """One measured wrk run against the server."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float  # CPU seconds of the server process / wall seconds
    wrk_cpu: float  # CPU seconds of wrk / wall seconds

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(slots=True)
class Server:
    """The `aifinops sim` subprocess and where it listens."""

    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


def sim_command() -> tuple[list[str], str]:
    """The argv that starts the simulator, and how to show it in the report.

    `aifinops sim` when the installed CLI has the command; otherwise the same Typer app
    via `python -c` after importing the module that registers it.
    """
    from aifinops.cli.app import app

    if any(c.name == "sim" for c in app.registered_commands):
        exe = str(Path(sys.executable).with_name("aifinops"))
        return [exe, *SIM_ARGS], "aifinops " + " ".join(SIM_ARGS)
    code = f"import aifinops.cli.sim; from aifinops.cli.app import app; app({SIM_ARGS!r})"
    return [sys.executable, "-c", code], f"python -c {code!r}"


@contextlib.contextmanager
def running_server(argv: list[str], logdir: Path) -> Iterator[Server]:
    """Start the simulator, wait until it answers /healthz, and always stop it."""
    log = logdir / "sim.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(proc, log)
    try:
        server.port = wait_for_port(server, timeout_s=30.0)
        wait_healthy(server, timeout_s=10.0)
        yield server
    finally:
        stop(proc)


def wait_for_port(server: Server, timeout_s: float) -> int:
    """Read the port from the 'listening on http://127.0.0.1:PORT' line the server prints."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = re.search(rf"listening on http://{re.escape(HOST)}:(\d+)", server.log.read_text())
        if match:
            return int(match.group(1))
        if server.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"aifinops sim did not start:\n{server.log.read_text()[-2000:]}")


def wait_healthy(server: Server, timeout_s: float) -> None:
    """Poll GET /healthz until it answers 200 (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"aifinops sim did not answer /healthz within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def check_answers(server: Server) -> dict[str, str]:
    """One request per scenario: a 200 with non-streaming JSON and usage within the cap."""
    seen = {}
    for name, (_, path, headers, body) in SCENARIOS.items():
        r = httpx.post(server.base + path, json=body, headers=headers, timeout=10.0)
        if r.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {r.status_code}: {r.text[:500]}")
        usage = r.json()["usage"]
        if name == "openai":
            got = (usage["prompt_tokens"], usage["completion_tokens"])
        else:
            got = (usage["input_tokens"], usage["output_tokens"])
        if got[1] > 16:
            raise RuntimeError(f"{name}: {got[1]} output tokens, cap was 16")
        seen[name] = f"{got[0]} in / {got[1]} out tokens, {len(r.content)} bytes"
    return seen


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wrk(server: Server, scenario: str, clients: int, threads: int, seconds: int) -> Run:
    """One wrk run; bounded by -d and by a subprocess timeout."""
    argv = [
        "wrk",
        f"-t{min(threads, clients)}",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        server.base,
        "--",
        scenario,
    ]
    srv0, wrk0, t0 = cpu_seconds(server.proc.pid), children_cpu(), time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wall = time.monotonic() - t0
    srv1, wrk1 = cpu_seconds(server.proc.pid), children_cpu()
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    s = orjson.loads(line.removeprefix("BENCH "))
    errors = sum(s[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Run(
        requests=s["requests"],
        seconds=s["duration_us"] / 1e6,
        errors=errors,
        p50_ms=s["p50_us"] / 1_000,
        p99_ms=s["p99_us"] / 1_000,
        server_cpu=(srv1 - srv0) / wall,
        wrk_cpu=(wrk1 - wrk0) / wall,
    )


def loaded_libraries(pid: int) -> str:
    """Which of uvloop and httptools the server process has actually loaded."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    found = [lib for lib in ("uvloop", "httptools") if f"/{lib}/" in maps]
    return ", ".join(found) or "neither uvloop nor httptools"


def versions() -> str:
    """Versions of the packages on the request path, and of wrk."""
    names = ["aifinops", "uvicorn", "uvloop", "httptools", "starlette", "orjson"]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (out.stdout or out.stderr).splitlines()[0]
    parts.append(first.split(" Copyright")[0].strip())
    return ", ".join(parts)


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's processor string."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def measure(server: Server, args: argparse.Namespace) -> dict[tuple[str, int], list[Run]]:
    """Warm up each scenario, then the interleaved measured runs."""
    cases = [(name, c) for c in (args.connections, 1) for name in SCENARIOS]
    for name in SCENARIOS:
        wrk(server, name, args.connections, args.threads, args.warmup)
    runs: dict[tuple[str, int], list[Run]] = {case: [] for case in cases}
    for _ in range(args.repeat):
        for name, clients in cases:
            runs[(name, clients)].append(wrk(server, name, clients, args.threads, args.duration))
            if server.proc.poll() is not None:
                raise RuntimeError(f"aifinops sim exited with {server.proc.returncode}")
    return runs


def report(
    args: argparse.Namespace,
    shown: str,
    server_libs: str,
    answers: dict[str, str],
    runs: dict[tuple[str, int], list[Run]],
    load_before: str,
) -> None:
    """Print the Markdown report."""
    med = statistics.median
    print(f"# Provider simulator benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(
        f"- command: `.venv/bin/python bench/sim.py --duration {args.duration} "
        f"--warmup {args.warmup} --repeat {args.repeat} --connections {args.connections} "
        f"--threads {args.threads}`"
    )
    print(f"- server: `{shown}` (one process; event loop and parser loaded: {server_libs})")
    print(
        f"- load: wrk, {args.threads} thread{'s' * (args.threads > 1)}, keep-alive "
        "connections, one small non-streaming POST repeated (bench/sim.lua); "
        f"{args.warmup} s warm-up per scenario, then {args.repeat} interleaved "
        f"round{'s' * (args.repeat > 1)} of {args.duration} s per row; "
        "wrk runs on the same machine and shares its CPU"
    )
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}, {versions()}; load average before the run "
        f"{load_before}"
    )
    print(f"- answers checked: openai {answers['openai']}; anthropic {answers['anthropic']}\n")
    print(
        "| scenario | clients | requests/s (median) | min – max | p50 latency | "
        "p99 latency | errors | server CPU | wrk CPU |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, clients), rs in runs.items():
        print(
            f"| {SCENARIOS[name][0]} | {clients} | {med(r.rps for r in rs):,.0f} | "
            f"{min(r.rps for r in rs):,.0f} – {max(r.rps for r in rs):,.0f} | "
            f"{med(r.p50_ms for r in rs):.2f} ms | {med(r.p99_ms for r in rs):.2f} ms | "
            f"{sum(r.errors for r in rs)} of {sum(r.requests for r in rs):,} | "
            f"{med(r.server_cpu for r in rs):.0%} | {med(r.wrk_cpu for r in rs):.0%} |"
        )
    loaded = {n: med(r.rps for r in runs[(n, args.connections)]) for n in SCENARIOS}
    errors = sum(r.errors for rs in runs.values() for r in rs)
    met = min(loaded.values()) >= GOAL_RPS and errors == 0
    print(
        f"\nLatency is per request as wrk measures it (medians over the rounds). CPU is "
        f"CPU-seconds per wall-second (100% = one core).\n\nGoal (issue 4): ≥ {GOAL_RPS:,} "
        f"requests/s at {args.connections} clients with 0 errors: "
        f"{'met' if met else 'NOT met'} ("
        + ", ".join(f"{SCENARIOS[n][0]} {v:,.0f}/s" for n, v in loaded.items())
        + f"; {errors} errors)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (max 20)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 1 <= args.warmup <= 60 and 1 <= args.repeat <= 20):
        parser.error("--duration 1..120, --warmup 1..60, --repeat 1..20")
    if shutil.which("wrk") is None:
        sys.exit(WRK_INSTALL)

    argv, shown = sim_command()
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory() as tmp, running_server(argv, Path(tmp)) as server:
        answers = check_answers(server)
        libs = loaded_libraries(server.proc.pid)
        runs = measure(server, args)
    report(args, shown, libs, answers, runs, load_before)


if __name__ == "__main__":
    main()
