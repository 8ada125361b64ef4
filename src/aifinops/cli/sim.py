"""`aifinops sim`: serve the OpenAI- and Anthropic-compatible provider simulator."""

from __future__ import annotations

import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aifinops.cli.app import app
from aifinops.cli.common import fail


class LatencyChoice(StrEnum):
    zero = "zero"
    realistic = "realistic"


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket first, so ``--port 0`` can report the port it got.

    The protocol is named explicitly: asyncio turns Nagle's algorithm off only on
    sockets whose ``proto`` is TCP, and without that a keep-alive response written in
    two parts waits ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror}); pick a free port")
    sock.listen(2048)
    return sock


@app.command("sim")
def sim_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")
    ] = 8788,
    latency_profile: Annotated[
        LatencyChoice,
        typer.Option(
            "--latency-profile",
            help="zero: answer at once (tests, benchmarks); realistic: per-model time to "
            "first token and token rate.",
        ),
    ] = LatencyChoice.zero,
    faults: Annotated[
        Path | None,
        typer.Option(
            "--faults",
            help="YAML or JSON file of fault rules (429, 500, 529, timeout, reset, "
            "malformed-sse, truncated-stream, latency); see docs/simulator.md.",
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key", help="Accept only this key (repeatable); default: any non-empty key."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of ids and generated text.")] = 0,
) -> None:
    """Serve a simulated OpenAI and Anthropic API (stop with Ctrl-C).

    OpenAI SDKs: base_url http://HOST:PORT/v1 (chat completions, responses,
    embeddings). Anthropic SDKs: base_url http://HOST:PORT (messages,
    count_tokens). Any non-empty API key works unless --api-key is given.

    Usage is derived from the text (4 bytes of UTF-8 a token); prompt caching
    is emulated (Anthropic cache_control, OpenAI prefixes of 1,024+ tokens).
    A request can ask for a fault with the header x-sim-fault: 429, 500, 503,
    529, overloaded, timeout, reset, malformed-sse or truncated-stream.
    """
    import uvicorn

    from aifinops.sim.config import SimConfig
    from aifinops.sim.faults import FaultConfigError, FaultPlan, load_fault_plan

    plan = FaultPlan()
    if faults is not None:
        try:
            plan = load_fault_plan(faults)
        except FaultConfigError as exc:
            fail(f"--faults: {exc}")
    config = SimConfig(
        latency_profile=latency_profile.value,
        faults=plan,
        api_keys=frozenset(api_key) if api_key else None,
        seed=seed,
    )
    # imported here: the simulator's server is not needed by the other commands' start-up
    from aifinops.sim.server import create_sim_app

    sim_app = create_sim_app(config)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(
        f"aifinops sim listening on http://{shown}:{bound} "
        f"(OpenAI base_url http://{shown}:{bound}/v1, Anthropic base_url http://{shown}:{bound})",
        err=False,
    )
    server = uvicorn.Server(
        uvicorn.Config(sim_app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    )
    server.run(sockets=[sock])
