"""Gateway overhead: direct vs `aifinops serve` vs nginx vs LiteLLM, side by side in one run.

    .venv/bin/python bench/gateway.py [--duration 8] [--warmup 2] [--repeat 3]
                                      [--clients 1,16,64] [--no-litellm]

Starts one `aifinops sim --latency-profile zero` process (the upstream) and, in front
of it, each on 127.0.0.1 as a real process with one worker:

1. direct: no proxy, the simulator itself (the baseline);
2. aifinops: `aifinops serve` with recording on (a SQLite ledger and its spool in a
   temporary directory, a gateway key from `aifinops keys create`);
3. nginx: `proxy_pass` with an upstream keepalive pool, access_log off, 1 worker
   (bench/gateway-nginx.conf; `apt-get install -y nginx` if it is missing);
4. litellm: the LiteLLM proxy (`litellm[proxy]==1.106.12`, in its own venv under
   bench/out/litellm-venv, created on first use; bench/gateway-litellm.yaml), without
   a database. Skipped, with the reason printed, if it cannot install or start.

One answer per target and mode is checked (HTTP 200, usage reported), then each is
loaded with wrk (bench/gateway.lua, keep-alive connections, the same OpenAI chat
completion every time) non-streaming and streaming (`stream: true` with
`stream_options.include_usage`), at each --clients count: a --warmup run, then a
--duration run, for every target in turn, --repeat rounds; the report gives medians.
Added latency is a target's p50/p99 minus the direct p50/p99 of the same case.
The CPU of every process (from /proc) and of the whole machine is taken over each run.
After each aifinops run the script waits for the recorder's queue to drain and counts
the ledger's rows, and at the end compares them with what wrk completed. Every process
is stopped at the end, also on error. Only 127.0.0.1 is contacted (and the package
registry, once, to install LiteLLM). Prints a Markdown report for docs/benchmarks.md.
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
import signal
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
LUA = BENCH / "gateway.lua"
NGINX_CONF = BENCH / "gateway-nginx.conf"
LITELLM_CONF = BENCH / "gateway-litellm.yaml"
LITELLM_SPEC = "litellm[proxy]==1.106.12"
LITELLM_VENV = BENCH / "out" / "litellm-venv"
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SIM_KEY = "sk-bench-upstream"
LITELLM_KEY = "sk-litellm-bench"
METRICS_TOKEN = "bench-metrics-token"
CUSTOMER = "acme-42"
MODES = ("whole", "stream")
MODE_LABEL = {"whole": "non-streaming", "stream": "streaming"}
GOAL_P50_MS = 0.75
GOAL_P99_MS = 2.0
GOAL_RATIO = 20.0
PROMPT = "Summarise our refund policy for annual plans in one sentence."
WRK_INSTALL = "wrk is not installed: `apt-get install -y wrk`, then rerun."
NGINX_INSTALL = "nginx is not installed: `apt-get install -y nginx`, then rerun."


@dataclass(slots=True)
class Target:
    """One thing wrk loads: where it listens, what path and headers it takes."""

    name: str
    label: str
    port: int
    path: str
    headers: list[str]
    proc: subprocess.Popen[bytes] | None  # None for direct (the simulator's own process)
    shown: str

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True, slots=True)
class Run:
    """One measured wrk run."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float]  # process name -> CPU seconds per wall second (1.0 = one core)
    wrk_cpu: float
    machine: float  # busy cores of the whole machine over the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(slots=True)
class LedgerCheck:
    """What wrk completed through aifinops against what the ledger holds."""

    completed: int = 0  # responses wrk (and the answer check) received completely
    in_flight_bound: int = 0  # sum over runs of the clients cut off when wrk stopped
    runs: int = 0
    drain_s: list[float] = field(default_factory=list)  # runs that ended with a queue
    depth_at_end: list[int] = field(default_factory=list)  # queue depth as wrk ended


def pick_port() -> int:
    """A free TCP port on 127.0.0.1 (for the servers that cannot print theirs)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a process we started (its own session), wait, then SIGKILL its group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # workers it forked (same process group, which is this process's id) go too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def spawn(
    stack: contextlib.ExitStack,
    argv: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    stop_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session, output to ``log``; stopped when ``stack`` closes."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=log.parent,
            env=env,
            start_new_session=True,
        )
    stack.callback(stop, proc, stop_signal)
    return proc


def wait_listening(proc: subprocess.Popen[bytes], log: Path, marker: str, timeout_s: float) -> int:
    """The port from the '<marker> http://127.0.0.1:PORT' line a server prints."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = re.search(rf"{marker} http://{re.escape(HOST)}:(\d+)", log.read_text())
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{log.stem} did not start:\n{log.read_text()[-2000:]}")


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200 (bounded), failing early if the process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log.stem} exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s:\n{log.read_text()[-2000:]}")


def aifinops_exe() -> str:
    """The `aifinops` console script next to this interpreter."""
    return str(Path(sys.executable).with_name("aifinops"))


def start_sim(stack: contextlib.ExitStack, tmp: Path) -> tuple[Target, subprocess.Popen[bytes]]:
    """`aifinops sim --latency-profile zero`, accepting only the upstream key."""
    args = ["sim", "--host", HOST, "--port", "0", "--latency-profile", "zero"]
    args += ["--api-key", SIM_KEY]
    log = tmp / "sim.log"
    proc = spawn(stack, [aifinops_exe(), *args], log)
    port = wait_listening(proc, log, "listening on", 30)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 10)
    direct = Target(
        "direct",
        "direct (simulator)",
        port,
        "/v1/chat/completions",
        [f"Authorization: Bearer {SIM_KEY}"],
        None,
        "aifinops " + " ".join(args),
    )
    return direct, proc


def gateway_env(tmp: Path, sim_port: int) -> dict[str, str]:
    """The environment of `aifinops keys create` and `aifinops serve` (no stray config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    sim = f"http://{HOST}:{sim_port}"
    env.update(
        AIFINOPS_DATABASE_URL=f"sqlite:///{tmp / 'ledger.db'}",
        AIFINOPS_SPOOL_DIR=str(tmp / "spool"),
        AIFINOPS_OPENAI_BASE_URL=f"{sim}/v1",
        AIFINOPS_ANTHROPIC_BASE_URL=sim,
        AIFINOPS_METRICS_TOKEN=METRICS_TOKEN,
        OPENAI_API_KEY=SIM_KEY,
        ANTHROPIC_API_KEY=SIM_KEY,
    )
    return env


def start_gateway(stack: contextlib.ExitStack, tmp: Path, sim_port: int) -> Target:
    """A gateway key, then `aifinops serve --port 0` (1 worker, recording to SQLite)."""
    env = gateway_env(tmp, sim_port)
    made = subprocess.run(
        [aifinops_exe(), "keys", "create", "--team", "bench", "--feature", "gateway-bench"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"aifinops keys create failed:\n{made.stdout}\n{made.stderr}")
    secret = made.stdout.strip().splitlines()[-1].strip()
    args = ["serve", "--host", HOST, "--port", "0"]
    log = tmp / "aifinops-serve.log"
    proc = spawn(stack, [aifinops_exe(), *args], log, env, signal.SIGINT)
    port = wait_listening(proc, log, "gateway listening on", 30)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 20)
    headers = [f"Authorization: Bearer {secret}", f"x-aifinops-customer: {CUSTOMER}"]
    shown = "aifinops " + " ".join(args) + " (SQLite ledger and spool in a temp dir)"
    return Target(
        "aifinops", "aifinops serve", port, "/openai/v1/chat/completions", headers, proc, shown
    )


def start_nginx(stack: contextlib.ExitStack, tmp: Path, sim_port: int) -> Target:
    """nginx with bench/gateway-nginx.conf filled in, in the foreground (daemon off)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RuntimeError(NGINX_INSTALL)
    folder = tmp / "nginx"
    folder.mkdir()
    port = pick_port()
    conf = folder / "nginx.conf"
    text = string.Template(NGINX_CONF.read_text())
    conf.write_text(text.substitute(dir=folder, port=port, sim_port=sim_port))
    log = folder / "nginx.log"
    argv = [nginx, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]
    proc = spawn(stack, argv, log)
    wait_http(f"http://{HOST}:{port}/healthz", proc, log, 20)
    shown = "nginx -c gateway-nginx.conf (1 worker, keepalive 128 to the simulator)"
    return Target(
        "nginx", "nginx proxy_pass", port, "/v1/chat/completions",
        [f"Authorization: Bearer {SIM_KEY}"], proc, shown,
    )  # fmt: skip


def litellm_installed() -> tuple[Path | None, str]:
    """The venv's `litellm` script, installing the pinned proxy first if needed."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe, ""
    LITELLM_VENV.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(LITELLM_VENV)],
        [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         LITELLM_SPEC],
    ]  # fmt: skip
    for argv in steps:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
        except subprocess.TimeoutExpired:
            return None, f"`{' '.join(argv[-2:])}` did not finish within 20 minutes"
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(argv[-2:])}` failed: " + " / ".join(tail)
    return (exe, "") if exe.exists() else (None, f"{exe} missing after installing {LITELLM_SPEC}")


def start_litellm(stack: contextlib.ExitStack, tmp: Path, sim_port: int) -> Target | str:
    """The LiteLLM proxy in its own venv, or the reason it cannot run."""
    exe, why = litellm_installed()
    if exe is None:
        return why
    folder = tmp / "litellm"
    folder.mkdir()
    conf = folder / "config.yaml"
    text = string.Template(LITELLM_CONF.read_text())
    conf.write_text(
        text.substitute(
            api_base=f"http://{HOST}:{sim_port}/v1", api_key=SIM_KEY, master_key=LITELLM_KEY
        )
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIFINOPS_", "OPENAI_", "ANTHROPIC_", "LITELLM_", "DATABASE_URL"))
    }
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="*", no_proxy="*")
    port = pick_port()
    argv = [str(exe), "--config", str(conf), "--host", HOST, "--port", str(port)]
    argv += ["--num_workers", "1"]
    log = folder / "litellm.log"
    proc = spawn(stack, argv, log, env)
    try:
        wait_http(f"http://{HOST}:{port}/health/liveliness", proc, log, 180)
    except RuntimeError as exc:
        stop(proc)
        return f"the LiteLLM proxy did not start: {str(exc).splitlines()[0]}"
    shown = f"litellm --config gateway-litellm.yaml --num_workers 1 ({litellm_version(exe)})"
    return Target(
        "litellm", "LiteLLM proxy", port, "/v1/chat/completions",
        [f"Authorization: Bearer {LITELLM_KEY}"], proc, shown,
    )  # fmt: skip


def litellm_version(exe: Path) -> str:
    """The installed LiteLLM version, read from its venv."""
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    out = subprocess.run(
        [str(exe.with_name("python")), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return f"litellm {out.stdout.strip() or '?'}, no database"


def request_body(mode: str) -> dict[str, Any]:
    """The request bench/gateway.lua sends, as a dict."""
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "max_completion_tokens": 16,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if mode == "stream":
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def check_answer(target: Target, mode: str) -> str:
    """One request: HTTP 200 and the usage (in the body, or the stream's usage chunk)."""
    headers = dict(h.split(": ", 1) for h in target.headers)
    r = httpx.post(target.base + target.path, json=request_body(mode), headers=headers, timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"{target.name} {mode}: HTTP {r.status_code}: {r.text[:500]}")
    extra = f", {len(r.content)} bytes"
    if mode == "whole":
        usage = r.json().get("usage")
    else:
        events = [
            orjson.loads(line[6:])
            for line in r.text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"
        ]
        usage = next((e["usage"] for e in reversed(events) if e.get("usage")), None)
        if "data: [DONE]" not in r.text:
            raise RuntimeError(f"{target.name} stream: no [DONE]: {r.text[-300:]}")
        extra = f", {len(events) + 1} SSE events"
    if not usage or usage.get("completion_tokens", 0) <= 0:
        raise RuntimeError(f"{target.name} {mode}: no usage in the answer: {r.text[:500]}")
    if target.name == "aifinops" and "x-aifinops-event-id" not in r.headers:
        raise RuntimeError("aifinops: no x-aifinops-event-id header")
    return f"{usage['prompt_tokens']} in / {usage['completion_tokens']} out{extra}"


def proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds) for every process (Linux /proc)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


def tree_cpu(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named process plus all its descendants."""
    table = proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for name, root in roots.items():
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            if pid in table:
                total += table[pid][1]
            todo.extend(children.get(pid, []))
        out[name] = total
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already in user
    return total - idle, total


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the wrk runs)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wrk(target: Target, mode: str, clients: int, seconds: int, roots: dict[str, int]) -> Run:
    """One wrk run (1 thread, keep-alive), bounded by -d and a subprocess timeout."""
    argv = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    argv += [target.base, "--", target.path, mode, *target.headers]
    cpu0, wrk0, (busy0, total0) = tree_cpu(roots), children_cpu(), machine_ticks()
    t0 = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wall = time.monotonic() - t0
    cpu1, wrk1, (busy1, total1) = tree_cpu(roots), children_cpu(), machine_ticks()
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    s = orjson.loads(line.removeprefix("BENCH "))
    ncpu = os.cpu_count() or 1
    return Run(
        requests=s["requests"],
        seconds=s["duration_us"] / 1e6,
        errors=sum(s[k] for k in ("connect", "read", "write", "status", "timeout")),
        p50_ms=s["p50_us"] / 1_000,
        p99_ms=s["p99_us"] / 1_000,
        cpu={name: (cpu1[name] - cpu0[name]) / wall for name in roots},
        wrk_cpu=(wrk1 - wrk0) / wall,
        machine=ncpu * (busy1 - busy0) / max(1, total1 - total0),
    )


def queue_depth(gateway: Target) -> int:
    """The recorder's queue depth from the gateway's /healthz."""
    return int(httpx.get(f"{gateway.base}/healthz", timeout=5).json()["queue_depth"])


def settle(gateway: Target, check: LedgerCheck, run: Run, clients: int) -> None:
    """After an aifinops run: count it, and wait (bounded) until the recorder's queue is empty."""
    check.completed += run.requests
    check.in_flight_bound += clients
    check.runs += 1
    depth = queue_depth(gateway)
    t0 = time.monotonic()
    check.depth_at_end.append(depth)
    if depth == 0:
        return
    while depth > 0:
        if time.monotonic() - t0 > 120:
            raise RuntimeError(f"the recorder still has {depth} events queued after 120 s")
        time.sleep(0.01)
        depth = queue_depth(gateway)
    check.drain_s.append(time.monotonic() - t0)


def ledger_counts(db: Path) -> tuple[int, dict[str, int]]:
    """Rows in usage_events, and rows by (status, error_type) for the ones not plain 200."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        total = c.execute("SELECT count(*) FROM usage_events").fetchone()[0]
        other = c.execute(
            "SELECT status, coalesce(error_type, '-'), count(*) FROM usage_events "
            "WHERE status != 200 OR error_type IS NOT NULL GROUP BY 1, 2"
        ).fetchall()
    return int(total), {f"{s} {e}": int(n) for s, e, n in other}


def metric(gateway: Target, name: str) -> float:
    """One unlabelled counter or gauge from the gateway's /metrics."""
    r = httpx.get(
        f"{gateway.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    match = re.search(rf"^{re.escape(name)} (\S+)$", r.text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def measure(
    targets: list[Target],
    args: argparse.Namespace,
    roots: dict[str, int],
    check: LedgerCheck,
) -> dict[tuple[str, str, int], list[Run]]:
    """Per round, per case, per target: a warm-up run, then the measured run."""
    runs: dict[tuple[str, str, int], list[Run]] = {}
    gateway = next((t for t in targets if t.name == "aifinops"), None)
    for r in range(args.repeat):
        for mode in MODES:
            for clients in args.clients:
                for target in targets:
                    for seconds, kept in ((args.warmup, False), (args.duration, True)):
                        run = wrk(target, mode, clients, seconds, roots)
                        if target is gateway:
                            settle(gateway, check, run, clients)
                        if kept:
                            runs.setdefault((target.name, mode, clients), []).append(run)
                    for t in targets:
                        if t.proc is not None and t.proc.poll() is not None:
                            raise RuntimeError(f"{t.name} exited with {t.proc.returncode}")
                print(
                    f"round {r + 1}/{args.repeat}: {mode} at {clients} clients done",
                    file=sys.stderr,
                    flush=True,
                )
    return runs


def versions() -> str:
    """Versions of the packages on the gateway's request path, nginx, LiteLLM and wrk."""
    parts = []
    for name in ("aifinops", "uvicorn", "uvloop", "httptools", "aiohttp", "orjson"):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    for argv in (["nginx", "-v"], ["wrk", "-v"]):
        with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            first = (out.stderr or out.stdout).splitlines()[0]
            parts.append(first.replace("nginx version: ", "").split(" Copyright")[0].strip())
    return ", ".join(parts)


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's processor string."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass(slots=True)
class Results:
    """Everything the report needs."""

    targets: list[Target]
    skipped: dict[str, str]
    answers: dict[str, str]
    runs: dict[tuple[str, str, int], list[Run]]
    check: LedgerCheck
    ledger_rows: int
    ledger_other: dict[str, int]
    events_total: float
    events_written: float
    dropped: float
    load_before: str
    load_after: str
    sim_shown: str


def med(values: Iterable[float]) -> float:
    """The median."""
    return float(statistics.median(list(values)))


def signed(ms: float) -> str:
    """An added latency in ms with its sign."""
    return f"{ms:+.2f} ms"


def report(args: argparse.Namespace, res: Results) -> None:
    """Print the Markdown report."""
    names = [t.name for t in res.targets]
    label = {t.name: t.label for t in res.targets}
    print(f"# Gateway overhead benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    clients = ",".join(str(c) for c in args.clients)
    print(
        f"- command: `.venv/bin/python bench/gateway.py --duration {args.duration} "
        f"--warmup {args.warmup} --repeat {args.repeat} --clients {clients}"
        f"{' --no-litellm' if args.no_litellm else ''}`"
    )
    print(f"- upstream: `{res.sim_shown}` (one process, shared by every target)")
    for t in res.targets[1:]:
        print(f"- {t.name}: `{t.shown}`, on 127.0.0.1")
    for name, why in res.skipped.items():
        print(f"- {name}: SKIPPED: {why}")
    print(
        f"- load: wrk, 1 thread, keep-alive HTTP/1.1 connections, one OpenAI chat completion "
        f"(gpt-4o-mini, max_completion_tokens 16, 20 input tokens) repeated (bench/gateway.lua), "
        f"non-streaming and streaming (`stream_options.include_usage`); the aifinops "
        f"requests also carry `x-aifinops-customer` (hashed into `safety_identifier`); per "
        f"round, per case, per target: {args.warmup} s warm-up then {args.duration} s measured; "
        f"{args.repeat} rounds; medians. wrk, the proxies and the simulator share the machine"
    )
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}, {versions()}; "
        f"load average at start {res.load_before}, at the end {res.load_after}"
    )
    print(
        "- answers checked (HTTP 200, usage): "
        + "; ".join(f"{k} {v}" for k, v in res.answers.items())
        + "\n"
    )
    direct = {
        (m, c): (med(r.p50_ms for r in rs), med(r.p99_ms for r in rs))
        for (n, m, c), rs in res.runs.items()
        if n == "direct"
    }
    for mode in MODES:
        print(f"### {MODE_LABEL[mode].capitalize()}\n")
        print(
            "| target | clients | requests/s (median) | min – max | p50 | p99 | added p50 | "
            "added p99 | errors | proxy CPU | sim CPU | wrk CPU | machine busy |"
        )
        print("| --- " + "| ---: " * 12 + "|")
        for c in args.clients:
            for n in names:
                rs = res.runs[(n, mode, c)]
                p50, p99 = med(r.p50_ms for r in rs), med(r.p99_ms for r in rs)
                d50, d99 = direct[(mode, c)]
                added = ("—", "—") if n == "direct" else (signed(p50 - d50), signed(p99 - d99))
                lat = (f"{p50:.2f} ms", f"{p99:.2f} ms")
                if any(r.requests == 0 for r in rs):  # wrk has no latency for an empty run
                    lat, added = ("—", "—"), ("—", "—")
                proxy = "—" if n == "direct" else f"{med(r.cpu[n] for r in rs):.0%}"
                print(
                    f"| {label[n]} | {c} | {med(r.rps for r in rs):,.0f} | "
                    f"{min(r.rps for r in rs):,.0f} – {max(r.rps for r in rs):,.0f} | "
                    f"{lat[0]} | {lat[1]} | {added[0]} | {added[1]} | "
                    f"{sum(r.errors for r in rs)} of {sum(r.requests for r in rs):,} | {proxy} | "
                    f"{med(r.cpu['sim'] for r in rs):.0%} | {med(r.wrk_cpu for r in rs):.0%} | "
                    f"{med(r.machine for r in rs):.2f} of {os.cpu_count()} cores |"
                )
        print()
    print(
        "Latency is per request as wrk measures it, to the last byte (for a stream, its "
        "last event); added = the target's median p50/p99 minus direct's in the same case. "
        "CPU is CPU-seconds per wall-second over the run (100% = one core); a proxy's "
        "includes its child processes; machine busy is all processes, from /proc/stat.\n"
    )
    goals(args, res)
    saturation(args, res)


def goals(args: argparse.Namespace, res: Results) -> None:
    """The issue's goals, each with its figures and met / NOT met."""
    if "aifinops" not in {t.name for t in res.targets}:
        return
    lines = []

    def p(n: str, mode: str, c: int, attr: str) -> float:
        return med(getattr(r, attr) for r in res.runs[(n, mode, c)])

    for mode in MODES:
        if 1 not in args.clients:
            break
        a50 = p("aifinops", mode, 1, "p50_ms") - p("direct", mode, 1, "p50_ms")
        a99 = p("aifinops", mode, 1, "p99_ms") - p("direct", mode, 1, "p99_ms")
        ok = a50 <= GOAL_P50_MS and a99 <= GOAL_P99_MS
        lines.append(
            f"- 1 client, {MODE_LABEL[mode]}: aifinops adds {signed(a50)} at p50 (goal ≤ "
            f"{GOAL_P50_MS} ms) and {signed(a99)} at p99 (goal ≤ {GOAL_P99_MS:g} ms): "
            f"{'met' if ok else 'NOT met'}"
        )
    have_litellm = "litellm" in {t.name for t in res.targets}
    for mode in MODES:
        for c in (c for c in args.clients if c > 1):
            rps = p("aifinops", mode, c, "rps")
            errors = sum(r.errors for r in res.runs[("aifinops", mode, c)])
            lite = p("litellm", mode, c, "rps") if have_litellm else 0.0
            if lite > 0:
                ratio = rps / lite
                ok = ratio >= GOAL_RATIO and errors == 0
                lines.append(
                    f"- {c} clients, {MODE_LABEL[mode]}: aifinops {rps:,.0f} req/s = "
                    f"{ratio:.1f}× LiteLLM's {lite:,.1f} (goal ≥ {GOAL_RATIO:g}×), {errors} "
                    f"errors: {'met' if ok else 'NOT met'}"
                )
            elif have_litellm:
                lines.append(
                    f"- {c} clients, {MODE_LABEL[mode]}: aifinops {rps:,.0f} req/s, {errors} "
                    "errors; LiteLLM completed no request in a median run, so the ratio has "
                    f"no finite value: {'met' if errors == 0 else 'NOT met'}"
                )
            else:
                lines.append(
                    f"- {c} clients, {MODE_LABEL[mode]}: aifinops {rps:,.0f} req/s, {errors} "
                    "errors; LiteLLM skipped, so the ratio goal is not measured"
                )
    print(
        f"Goals (issue 5): at 1 client aifinops adds ≤ {GOAL_P50_MS} ms p50 and ≤ "
        f"{GOAL_P99_MS:g} ms p99; at 16 and 64 clients ≥ {GOAL_RATIO:g}× LiteLLM's "
        "throughput, no errors.\n"
    )
    print("\n".join(lines) + "\n")
    c = res.check
    extra = res.ledger_rows - c.completed
    other = ", ".join(f"{k}: {v}" for k, v in sorted(res.ledger_other.items())) or "none"
    within = 0 <= extra <= c.in_flight_bound
    kept_up = res.ledger_rows == res.events_total == res.events_written and res.dropped == 0
    drained = (
        f"{len(c.drain_s)} of {c.runs} runs ended with events still queued (at most "
        f"{max(c.depth_at_end):,}), and the queue was empty again within "
        f"{max(c.drain_s) * 1000:,.0f} ms"
        if c.drain_s
        else f"the queue was empty when every one of the {c.runs} runs ended"
    )
    print(
        f"Ledger check: wrk completed {c.completed - len(MODES):,} requests through aifinops "
        f"in {c.runs} runs (warm-ups included), plus the {len(MODES)} of the answer check: "
        f"{c.completed:,}. The ledger holds {res.ledger_rows:,} rows, {extra:+,}: wrk stops "
        f"a run with up to one request in flight per connection ({c.in_flight_bound:,} "
        f"connection-runs in all), which it does not count but the gateway completes and "
        f"records (streams cut off are `client_disconnected` rows), so the ledger must hold "
        f"between {c.completed:,} and {c.completed + c.in_flight_bound:,}: "
        f"{'yes' if within else 'NO'}. Rows that are not a plain 200: {other}. The "
        f"recorder counted {res.events_total:,.0f} events, wrote {res.events_written:,.0f} "
        f"to the ledger and dropped {res.dropped:,.0f}; the ledger's count equals both: "
        f"{'yes' if kept_up else 'NO'}. Recording kept up: {drained}.\n"
    )


def saturation(args: argparse.Namespace, res: Results) -> None:
    """Where the machine saturated: which process held a core, how busy the machine was."""
    ncpu = os.cpu_count() or 1
    print(f"Saturation ({ncpu} cores shared by wrk, the proxy and the simulator):\n")
    for mode in MODES:
        parts = []
        for t in res.targets:
            c = max(args.clients)
            rs = res.runs[(t.name, mode, c)]
            busy = med(r.machine for r in rs)
            sim = med(r.cpu["sim"] for r in rs)
            own = med(r.cpu[t.name] for r in rs) if t.name != "direct" else sim
            ours = med(sum(r.cpu.values()) + r.wrk_cpu for r in rs)
            proc = t.name if t.name != "direct" else "sim"
            pers = [r.cpu[proc] / r.rps for r in rs if r.rps]
            per = f"{med(pers) * 1000:.2f} ms" if pers else "—"
            upstream = f", sim {sim:.0%}" if t.name != "direct" else ""
            parts.append(
                f"{t.name} at {c} clients: {proc} {own:.0%} ({per} CPU a request){upstream}, "
                f"wrk {med(r.wrk_cpu for r in rs):.0%}, machine {busy:.2f}/{ncpu} cores, of "
                f"which {max(0.0, busy - ours):.2f} outside this benchmark"
            )
        print(f"- {MODE_LABEL[mode]}:\n  - " + "\n  - ".join(parts))
    print()


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so that every server is stopped on the way out."""
    raise SystemExit(f"stopped by signal {signum}")


def parse_args() -> argparse.Namespace:
    """Command-line options, checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (max 10)")
    parser.add_argument("--clients", default="1,16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    args = parser.parse_args()
    try:
        args.clients = [int(c) for c in args.clients.split(",")]
    except ValueError:
        parser.error("--clients: comma-separated integers, e.g. 1,16,64")
    if not (1 <= args.duration <= 120 and 1 <= args.warmup <= 60 and 1 <= args.repeat <= 10):
        parser.error("--duration 1..120, --warmup 1..60, --repeat 1..10")
    if not all(1 <= c <= 1000 for c in args.clients):
        parser.error("--clients: each between 1 and 1000")
    return args


def main() -> None:
    """Start everything, check, measure, count the ledger, stop everything, report."""
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit(WRK_INSTALL)
    signal.signal(signal.SIGTERM, on_sigterm)
    load_before = loadavg()
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="aifinops-bench-") as tmpdir:
        tmp = Path(tmpdir)
        with contextlib.ExitStack() as stack:
            direct, sim = start_sim(stack, tmp)
            targets = [direct, start_gateway(stack, tmp, direct.port)]
            targets.append(start_nginx(stack, tmp, direct.port))
            if args.no_litellm:
                skipped["litellm"] = "--no-litellm"
            else:
                lite = start_litellm(stack, tmp, direct.port)
                if isinstance(lite, str):
                    skipped["litellm"] = lite
                else:
                    targets.append(lite)
            gateway = targets[1]
            answers = {f"{t.name} {mode}": check_answer(t, mode) for t in targets for mode in MODES}
            check = LedgerCheck(completed=len(MODES))  # the answer check's aifinops requests
            roots = {"sim": sim.pid} | {t.name: t.proc.pid for t in targets if t.proc}
            runs = measure(targets, args, roots, check)
            time.sleep(0.5)  # a request wrk abandoned at its stop may still be finishing
            t0 = time.monotonic()
            while queue_depth(gateway) > 0 and time.monotonic() - t0 < 120:
                time.sleep(0.05)
            rows, other = ledger_counts(tmp / "ledger.db")
            res = Results(
                targets=targets,
                skipped=skipped,
                answers=answers,
                runs=runs,
                check=check,
                ledger_rows=rows,
                ledger_other=other,
                events_total=metric(gateway, "aifinops_recorder_events_total"),
                events_written=metric(gateway, "aifinops_recorder_events_written_total"),
                dropped=metric(gateway, "aifinops_recorder_events_dropped_total"),
                load_before=load_before,
                load_after=loadavg(),
                sim_shown=direct.shown,
            )
    report(args, res)


if __name__ == "__main__":
    main()
