"""Real processes for the gateway tests: `aifinops sim` and `aifinops serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SIM_LAUNCH = "import aifinops.cli.sim; from aifinops.cli.app import app; app()"
SERVE_LAUNCH = "import aifinops.cli.serve; from aifinops.cli.app import app; app()"
UPSTREAM_OPENAI_KEY = "sk-upstream-openai-test"
UPSTREAM_ANTHROPIC_KEY = "sk-upstream-anthropic-test"
METRICS_TOKEN = "metrics-test-token"


@dataclass
class Proc:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not healthy after {timeout} s")
            time.sleep(0.05)


def _start(args: list[str], env: Mapping[str, str], log: Path, marker: str) -> Proc:
    log_file = log.open("a")
    full_env = {**os.environ, **env}
    if not full_env.get("AIFINOPS_CONFIG"):
        full_env.pop("AIFINOPS_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", *args],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        env=full_env,
        cwd=log.parent,
    )
    log_file.close()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert marker in line, line + log.read_text()[-3000:]
        url = line.split("listening on ")[1].split()[0]
        _wait_healthy(url, proc)
    except BaseException:
        stop(proc)
        raise
    return Proc(proc, url, log)


def stop(proc: subprocess.Popen[str], *, hard: bool = False) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if hard else signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextmanager
def sim_process(folder: Path, *extra: str) -> Iterator[Proc]:
    args = [SIM_LAUNCH, "sim", "--port", "0", *extra]
    args += ["--api-key", UPSTREAM_OPENAI_KEY, "--api-key", UPSTREAM_ANTHROPIC_KEY]
    p = _start(args, {}, folder / "sim.log", "listening on http://127.0.0.1:")
    try:
        yield p
    finally:
        stop(p.proc)


def gateway_env(sim_url: str, db_url: str, spool: Path, **extra: str) -> dict[str, str]:
    return {
        "AIFINOPS_DATABASE_URL": db_url,
        "AIFINOPS_SPOOL_DIR": str(spool),
        "AIFINOPS_OPENAI_BASE_URL": f"{sim_url}/v1",
        "AIFINOPS_ANTHROPIC_BASE_URL": sim_url,
        "OPENAI_API_KEY": UPSTREAM_OPENAI_KEY,
        "ANTHROPIC_API_KEY": UPSTREAM_ANTHROPIC_KEY,
        "AIFINOPS_METRICS_TOKEN": METRICS_TOKEN,
        **extra,
    }


def start_gateway(env: Mapping[str, str], log: Path) -> Proc:
    return _start([SERVE_LAUNCH, "serve", "--port", "0"], env, log, "gateway listening on")


@contextmanager
def gateway_process(env: Mapping[str, str], log: Path) -> Iterator[Proc]:
    p = start_gateway(env, log)
    try:
        yield p
    finally:
        stop(p.proc)
