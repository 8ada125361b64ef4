"""`aifinops serve`: the gateway (provider routes, /healthz, /metrics)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import OperationalError
from uvicorn.supervisors import Multiprocess

from aifinops.cli.app import app
from aifinops.cli.common import err_console, fail, settings_or_exit
from aifinops.cli.sim import _listen
from aifinops.gateway.app import create_gateway_app
from aifinops.ledger.db import LedgerURLError, open_ledger


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")
    ] = 8787,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=256, help="Worker processes.")
    ] = 1,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: AIFINOPS_CONFIG).")
    ] = None,
) -> None:
    """Serve the gateway: point the SDKs' base_url at it (stop with Ctrl-C).

    OpenAI SDKs: base_url http://HOST:PORT/openai/v1; Anthropic SDKs: base_url
    http://HOST:PORT/anthropic; the api_key is a gateway key (`aifinops keys
    create`). Every call is attributed, priced and recorded in the ledger.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_or_exit(config)
    try:
        engine = open_ledger(settings.database_url)  # create or migrate on first use
        engine.dispose()
    except LedgerURLError as exc:
        fail(str(exc))
    except OperationalError as exc:
        err_console.print(
            f"[yellow]warning:[/] cannot open the ledger at {settings.database_url} "
            f"({exc.orig}); serving anyway, calls are spooled until it is back."
        )
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(
        f"aifinops gateway listening on http://{shown}:{bound} "
        f"(OpenAI base_url http://{shown}:{bound}/openai/v1, "
        f"Anthropic base_url http://{shown}:{bound}/anthropic)"
    )
    common = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 10}
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(create_gateway_app(settings), **common))  # type: ignore[arg-type]
        server.run(sockets=[sock])
        return
    if config is not None:
        os.environ["AIFINOPS_CONFIG"] = str(config)  # the workers read the same settings
    uvicorn_config = uvicorn.Config(
        "aifinops.gateway.server:app_from_environment",
        factory=True,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )
    Multiprocess(uvicorn_config, sockets=[sock]).run()
