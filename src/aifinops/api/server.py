"""What `aifinops serve` runs: the gateway and the API in one process.

`ServerApp` routes on the path prefix before any framework: ``/api/…`` goes to the
FastAPI app, everything else (the provider routes, ``/healthz``, ``/metrics``) to the
pure-ASGI gateway, so the proxy path never passes through FastAPI. The lifespan is the
gateway's (the API needs no start-up of its own).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp

from aifinops.api.app import create_api_app
from aifinops.api.context import RecorderProbe
from aifinops.api.roles import Permission
from aifinops.api.tokens import verify_token
from aifinops.gateway.app import GatewayApp, MetricsAuthorizer, create_gateway_app
from aifinops.gateway.asgi import Receive, Scope, Send
from aifinops.gateway.guard import Guard
from aifinops.ingest.status import read_statuses
from aifinops.ledger.db import create_ledger_engine
from aifinops.pricing import PricingEngine
from aifinops.settings import Settings, load_settings
from aifinops.web import create_dashboard_app, is_dashboard_path


class ServerApp:
    """``/api`` → the API; the dashboard's pages (``/``, ``/login``, ``/static/…``,
    `aifinops.web.is_dashboard_path`) → the dashboard; anything else → the gateway."""

    def __init__(self, gateway: GatewayApp, api: FastAPI, dashboard: ASGIApp | None = None) -> None:
        self.gateway = gateway
        self.api = api
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/api" or path.startswith("/api/"):
                await self.api(scope, receive, send)
                return
            if self.dashboard is not None and is_dashboard_path(path):
                await self.dashboard(scope, receive, send)
                return
        await self.gateway(scope, receive, send)


def metrics_authorizer(engine: Engine) -> MetricsAuthorizer:
    """Accepts an active API token whose role may read /metrics (metrics, admin)."""

    def check(token: str) -> bool:
        with engine.connect() as conn:
            record = verify_token(conn, token)
        return record is not None and record.role.may(Permission.metrics_read)

    async def authorize(token: str) -> bool:
        return await asyncio.to_thread(check, token)

    return authorize


def recorder_probe(gateway: GatewayApp) -> RecorderProbe:
    def probe() -> dict[str, Any]:
        recorder = gateway.recorder
        return {
            "queue_depth": recorder.queue_depth,
            "spool_bytes": recorder.spool.size_bytes,
            "written": recorder.written,
            "ledger_up": recorder.last_error is None,
            "last_error": recorder.last_error,
            "last_write_at": (
                recorder.last_write_at.isoformat().replace("+00:00", "Z")
                if recorder.last_write_at
                else None
            ),
        }

    return probe


def create_server_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    guard: Guard | None = None,
    pricing: PricingEngine | None = None,
    key_refresh_seconds: float = 2.0,
) -> ServerApp:
    """The gateway and the API on one ledger engine; nothing starts until the lifespan.
    The gateway's recorder writes from a child process unless an engine is handed in."""
    ledger_process = engine is None
    engine = engine or create_ledger_engine(settings.database_url)
    gateway = create_gateway_app(
        settings,
        engine=engine,
        ledger_process=ledger_process,
        guard=guard,
        pricing=pricing,
        key_refresh_seconds=key_refresh_seconds,
        metrics_authorizer=metrics_authorizer(engine),
    )
    gateway.metrics.bind_ingest(partial(read_statuses, engine))  # provider-report pulls
    api = create_api_app(settings, engine, recorder=recorder_probe(gateway))
    return ServerApp(gateway, api, create_dashboard_app(engine, api))


def app_from_environment() -> ServerApp:
    """The factory uvicorn imports in each worker (``--workers N``): settings read once."""
    return create_server_app(load_settings())
