"""`aifinops serve`: the gateway (provider routes, /healthz, /metrics) and the API (/api/v1).

With ``provider_reports:`` in the config, it also pulls the providers' usage and cost
reports on a schedule (`aifinops.ingest.schedule`). That scheduler runs in a thread of
*this* process, which is the uvicorn supervisor with ``--workers N`` (it serves no
request) and the only server process otherwise (the pulls never run on its event
loop), so one ``serve`` runs exactly one scheduler; a lock in the ledger
(`aifinops.ingest.leader`) keeps it to one across several ``serve`` on one ledger.
Budget alerts are evaluated the same way, every ``AIFINOPS_ALERT_INTERVAL_S``
(`aifinops.governance.runner`, under a lock of their own).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aifinops.cli.app import app
from aifinops.cli.common import err_console, fail, settings_or_exit
from aifinops.cli.sim import _listen

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from aifinops.ingest.schedule import ScheduleRunner
    from aifinops.settings import Settings

log = logging.getLogger("aifinops.serve")


def ensure_admin_token(engine: Engine) -> str | None:
    """At first start (no admin token ever made), create one; its secret, shown once."""
    from aifinops.api.audit import record_audit
    from aifinops.api.roles import Role, RoleKind
    from aifinops.api.tokens import create_token, has_admin_token

    with engine.begin() as conn:
        if has_admin_token(conn):
            return None
        record, secret = create_token(conn, Role(RoleKind.admin), "first start", created_by="serve")
        record_audit(
            conn,
            actor="serve",
            via="cli",
            action="tokens.create",
            target=record.token_id,
            before=None,
            after=record.summary(),
        )
    return secret


def provider_report_runner(settings: Settings) -> ScheduleRunner | None:
    """The provider-report scheduler of the config (not started), or None; exits on a
    scheduled provider without its admin key."""
    from aifinops.ingest.leader import lock_for
    from aifinops.ingest.schedule import ScheduleError, build_runner, describe
    from aifinops.ledger.db import LedgerURLError, create_ledger_engine
    from aifinops.pricing import PricingEngine

    if not settings.reports.schedule:
        return None
    try:
        engine = create_ledger_engine(settings.database_url)
    except LedgerURLError as exc:
        fail(str(exc))
    pricing = PricingEngine(rates=settings.rates)

    def known(provider: str, model: str) -> bool:
        return pricing.plan(provider, model, None, False) is not None

    try:
        runner = build_runner(settings.reports, engine, lock_for(engine), known)
    except ScheduleError as exc:
        fail(f"{exc}\nFix the environment (or the config file) and start again.")
    if runner is not None:
        log.info("provider reports: %s", describe(runner.scheduler.jobs))
    return runner


def _show_admin_token(secret: str) -> None:
    err_console.print(
        "[bold yellow]First start: created an admin API token for /api/v1. "
        "Store it now, it is not shown again[/] "
        "(more with `aifinops tokens create --role …`):",
        highlight=False,
    )
    err_console.print(secret, highlight=False, markup=False)


@app.command("serve")
def serve_command(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Interface to listen on (default: gateway.host, else 127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="Port; 0 picks a free one (default: gateway.port, else 8787).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=256, help="Worker processes (default: gateway.workers, else 1)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: AIFINOPS_CONFIG).")
    ] = None,
) -> None:
    """Serve the gateway and the API (/api/v1): point the SDKs' base_url at it (Ctrl-C stops).

    OpenAI SDKs: base_url http://HOST:PORT/openai/v1; Anthropic SDKs: base_url
    http://HOST:PORT/anthropic; the api_key is a gateway key (`aifinops keys
    create`). Every call is attributed, priced and recorded in the ledger. The API
    answers at http://HOST:PORT/api/v1 (an admin token is printed at first start).
    With provider_reports: in the config, it also pulls the providers' usage and cost
    reports on a schedule (status at /api/v1/ingest). --host, --port and --workers
    override the config file's gateway: section.
    """
    import uvicorn
    from sqlalchemy.exc import OperationalError
    from uvicorn.supervisors import Multiprocess

    from aifinops.governance.runner import build_alert_runner
    from aifinops.ledger.db import LedgerURLError, open_ledger

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_or_exit(config)
    host = settings.gateway.host if host is None else host
    port = settings.gateway.port if port is None else port
    workers = settings.gateway.workers if workers is None else workers
    runner = provider_report_runner(settings)
    try:
        engine = open_ledger(settings.database_url)  # create or migrate on first use
        secret = ensure_admin_token(engine)
        engine.dispose()
        if secret is not None:
            _show_admin_token(secret)
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
    common = {
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        # the gateway reads no X-Forwarded-* header: skip uvicorn's middleware for them
        "proxy_headers": False,
        "server_header": False,
    }
    if runner is not None:
        runner.start()
    # budget alerts every AIFINOPS_ALERT_INTERVAL_S, in this process only (as above)
    alerts = build_alert_runner(settings)
    if alerts is not None:
        alerts.start()
    try:
        if workers == 1:
            # imported here: FastAPI and the gateway cost every other command's start-up
            from aifinops.api.server import create_server_app

            server = uvicorn.Server(uvicorn.Config(create_server_app(settings), **common))  # type: ignore[arg-type]
            server.run(sockets=[sock])
            return
        if config is not None:
            os.environ["AIFINOPS_CONFIG"] = str(config)  # the workers read the same settings
        uvicorn_config = uvicorn.Config(
            "aifinops.api.server:app_from_environment",
            factory=True,
            workers=workers,
            **common,  # type: ignore[arg-type]
        )
        Multiprocess(uvicorn_config, sockets=[sock]).run()
    finally:
        if runner is not None:
            runner.stop()
        if alerts is not None:
            alerts.stop()
