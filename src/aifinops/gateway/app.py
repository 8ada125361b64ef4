"""The gateway as a pure-ASGI app: `create_gateway_app(settings, …)`.

No middleware stack and no framework on the request path: the provider routes are one
dictionary lookup, and a stream goes straight from the upstream to ``send``. Start-up
(lifespan) opens the shared aiohttp session, loads the gateway keys and starts the
recorder, which first replays whatever an earlier process left in the spool.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aifinops.gateway.asgi import Receive, Scope, Send, drain, send_response
from aifinops.gateway.auth import KeyCache
from aifinops.gateway.errors import error_body
from aifinops.gateway.guard import AllowAll, Guard
from aifinops.gateway.guardrails import Guardrails
from aifinops.gateway.ledger_process import WriterProcess
from aifinops.gateway.metrics import GatewayMetrics
from aifinops.gateway.proxy import Proxy
from aifinops.gateway.recorder import Recorder
from aifinops.gateway.routes import ROUTES, provider_of_path
from aifinops.gateway.routing import Router
from aifinops.gateway.spool import Spool
from aifinops.gateway.upstream import new_session
from aifinops.governance.alerts import raise_counters_down
from aifinops.governance.counters import Counters, MemoryCounters, RedisCounters
from aifinops.governance.guard import BudgetGuard, GovernanceMetrics
from aifinops.ledger.db import create_ledger_engine
from aifinops.pricing import PricingEngine
from aifinops.settings import Settings

log = logging.getLogger("aifinops.gateway")

_METRICS_TYPE = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]

#: Says whether a bearer token may read /metrics (the API's `metrics` and `admin` tokens).
MetricsAuthorizer = Callable[[str], Awaitable[bool]]


class GatewayApp:
    """The gateway; ``startup``/``shutdown`` run from the ASGI lifespan (or a test)."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        guard: Guard | None = None,
        pricing: PricingEngine | None = None,
        key_refresh_seconds: float = 2.0,
        metrics_authorizer: MetricsAuthorizer | None = None,
        routing_refresh_seconds: float = 60.0,
        ledger_process: bool | None = None,
    ) -> None:
        self.settings = settings
        self.metrics_authorizer = metrics_authorizer
        self.gateway = settings.gateway
        # the recorder writes the ledger from a child process (no GIL shared with the
        # requests) by default when the gateway opens its own ledger; a gateway handed an
        # engine (tests, embedding) uses a thread unless ``ledger_process`` says otherwise
        if ledger_process is None:
            ledger_process = engine is None
        process = WriterProcess(settings.database_url) if ledger_process else None
        self.engine = engine or create_ledger_engine(settings.database_url)
        self.metrics = GatewayMetrics()
        self.keys = KeyCache(self.engine, key_refresh_seconds)
        pricing = pricing or PricingEngine(rates=settings.rates)
        self.recorder = Recorder(
            self.engine,
            pricing,
            Spool(self.gateway.spool_dir),
            self.metrics,
            queue_max=self.gateway.recorder_queue_max,
            process=process,
        )
        self._session: aiohttp.ClientSession | None = None
        self.budget_guard = None if guard is not None else self._budget_guard(pricing)
        self.router = Router(self.engine, settings.routing, pricing, routing_refresh_seconds)
        self.proxy = Proxy(
            self.gateway,
            self.keys,
            self.recorder,
            guard or self.budget_guard or AllowAll(),
            self.session,
            guardrails=Guardrails(settings.guardrails),
            router=self.router,
        )
        self.started = False

    def _budget_guard(self, pricing: PricingEngine) -> BudgetGuard:
        """Budgets and rate limits: counters in Redis when AIFINOPS_REDIS_URL is set (many
        gateway processes share them), else in this process's memory."""
        counters: Counters
        if self.settings.redis_url:
            counters = RedisCounters(self.settings.redis_url, self.gateway.redis_prefix)
        else:
            counters = MemoryCounters()
        recorder = self.recorder
        return BudgetGuard(
            self.engine,
            pricing,
            counters,
            config_budgets=self.settings.budgets,
            rate_limits=self.settings.rate_limits,
            output_ceiling=self.gateway.budget_output_ceiling,
            fail_mode=self.gateway.budget_fail_mode,
            metrics=GovernanceMetrics(self.metrics.registry),
            progress=lambda: (recorder.queue_depth, recorder.written),
            on_counters_down=self._counters_down_alert,
        )

    def _counters_down_alert(self, mode: str, error: str) -> None:
        """Record a ``counters_down`` alert (once an hour); the alert runner delivers it."""
        try:
            with self.engine.begin() as conn:
                raise_counters_down(conn, self.settings.alerts, mode, error, datetime.now(UTC))
        except SQLAlchemyError as exc:
            log.warning("could not record the counters-down alert: %s", type(exc).__name__)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the gateway is not started (no lifespan startup)")
        return self._session

    async def startup(self) -> None:
        self._session = new_session(self.gateway)
        await self.keys.start()
        await self.recorder.start()
        if self.budget_guard is not None:
            await self.budget_guard.start()
        await self.router.start()
        self.started = True

    async def shutdown(self) -> None:
        await self.router.stop()
        if self.budget_guard is not None:
            await self.budget_guard.stop()
        await self.keys.stop()
        await self.recorder.stop()
        if self._session is not None:
            await self._session.close()
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        route = ROUTES.get(path)
        if route is not None:
            if scope["method"] != "POST":
                await self._refuse(
                    send, receive, path, 405, "method_not_allowed", f"use POST on {path}"
                )
                return
            await self.proxy.handle(route, scope, receive, send)
        elif path == "/healthz":
            body = orjson.dumps(
                {
                    "status": "ok",
                    "ledger": "up" if self.recorder.last_error is None else "down",
                    "queue_depth": self.recorder.queue_depth,
                }
            )
            await send_response(send, 200, body)
        elif path == "/metrics":
            await self._metrics(scope, receive, send)
        else:
            await self._refuse(send, receive, path, 404, "unknown_route", f"unknown route {path}")

    async def _refuse(
        self, send: Send, receive: Receive, path: str, status: int, reason: str, message: str
    ) -> None:
        await drain(receive)
        provider = provider_of_path(path)
        if provider is not None:
            known = ", ".join(r for r in ROUTES if r.startswith(f"/{provider}/"))
            message = f"{message} (the gateway serves {known})"
        self.recorder.reject(status, reason, message, field=None, provider=provider, path=path)
        await send_response(send, status, error_body(provider, status, message, reason))

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.gateway.metrics_public and not await self._metrics_allowed(scope, send):
            return
        await send_response(send, 200, self.metrics.render(), _METRICS_TYPE)

    async def _metrics_allowed(self, scope: Scope, send: Send) -> bool:
        """The static AIFINOPS_METRICS_TOKEN, or an API token the authorizer accepts."""
        token = self.gateway.metrics_token
        if token is None and self.metrics_authorizer is None:
            message = "set AIFINOPS_METRICS_TOKEN, or AIFINOPS_METRICS_PUBLIC=true"
            await send_response(send, 403, error_body(None, 403, message, "metrics_disabled"))
            return False
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if token is not None and hmac.compare_digest(auth.encode(), f"Bearer {token}".encode()):
            return True
        scheme, _, bearer = auth.partition(" ")
        authorizer = self.metrics_authorizer
        if (
            authorizer is not None
            and scheme.lower() == "bearer"
            and await authorizer(bearer.strip())
        ):
            return True
        message = "/metrics needs Authorization: Bearer <a metrics or admin API token>"
        if token is not None:
            message += " (or AIFINOPS_METRICS_TOKEN)"
        await send_response(send, 401, error_body(None, 401, message, "unauthorized"))
        return False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_gateway_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    guard: Guard | None = None,
    pricing: PricingEngine | None = None,
    key_refresh_seconds: float = 2.0,
    metrics_authorizer: MetricsAuthorizer | None = None,
    ledger_process: bool | None = None,
) -> GatewayApp:
    """A gateway app; nothing happens until its lifespan starts it."""
    return GatewayApp(
        settings,
        engine=engine,
        guard=guard,
        pricing=pricing,
        key_refresh_seconds=key_refresh_seconds,
        metrics_authorizer=metrics_authorizer,
        ledger_process=ledger_process,
    )
