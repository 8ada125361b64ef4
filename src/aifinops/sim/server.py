"""The simulator app: provider routes behind auth, faults, rate limits and latency.

``create_sim_app(config)`` builds a Starlette app serving OpenAI's
``/v1/chat/completions``, ``/v1/responses`` and ``/v1/embeddings`` and Anthropic's
``/v1/messages`` and ``/v1/messages/count_tokens`` from one process (the OpenAI SDK's
``base_url`` is ``http://host:port/v1``, Anthropic's ``http://host:port``), plus
``GET /v1/models`` and ``GET /healthz``. All state lives on the app
(``app.state.sim``); nothing happens at import time.

Each request runs: authentication -> body -> fault choice (``x-sim-fault`` header or
the faults file) -> the route's pure handler -> rate-limit accounting -> the reply,
paced by the latency profile and shaped by any transport fault.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aifinops.pricing.catalog import Catalog
from aifinops.sim import anthropic_messages, openai_chat, openai_embeddings, openai_responses
from aifinops.sim.config import SimConfig
from aifinops.sim.errors import SimError, encode_error
from aifinops.sim.faults import HEADER_FAULT_KINDS, STATUS_FAULTS, STREAM_ONLY_FAULTS, Fault
from aifinops.sim.latency import timing
from aifinops.sim.reply import Reply
from aifinops.sim.state import Context, SimState
from aifinops.sim.transport import Receive, Send, hang, send_json, send_reply

Handler = Callable[[Context, dict[str, Any]], Reply]
ORGANIZATION = "aifinops-sim"


@dataclass(frozen=True, slots=True)
class ProviderRoute:
    path: str
    provider: str
    handler: Handler
    quick: bool = False


ROUTES: tuple[ProviderRoute, ...] = (
    ProviderRoute("/v1/chat/completions", "openai", openai_chat.handle),
    ProviderRoute("/v1/responses", "openai", openai_responses.handle),
    ProviderRoute("/v1/embeddings", "openai", openai_embeddings.handle, quick=True),
    ProviderRoute("/v1/messages", "anthropic", anthropic_messages.handle),
    ProviderRoute(
        "/v1/messages/count_tokens", "anthropic", anthropic_messages.count_tokens, quick=True
    ),
)

_STATUS_MESSAGES: Mapping[tuple[str, int], tuple[str, str]] = {
    ("openai", 500): ("server_error", "The server had an error while processing your request."),
    ("openai", 503): ("server_error", "The engine is currently overloaded, please try again later"),
    ("openai", 529): ("server_error", "The server is overloaded, please try again later"),
    ("anthropic", 500): ("api_error", "Internal server error"),
    ("anthropic", 503): ("api_error", "Service unavailable"),
    ("anthropic", 529): ("overloaded_error", "Overloaded"),
}


def _mask(key: str) -> str:
    return f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"


def _authenticate(provider: str, headers: Headers, keys: frozenset[str] | None) -> None:
    bearer = headers.get("authorization", "")
    key = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
    if provider == "anthropic":
        key = headers.get("x-api-key", "").strip() or key
        if not key:
            raise SimError(401, "authentication_error", "x-api-key header is required")
        if keys is not None and key not in keys:
            raise SimError(401, "authentication_error", "invalid x-api-key")
        if not headers.get("anthropic-version"):
            raise SimError(400, "invalid_request_error", "anthropic-version: header is required")
        return
    if not key:
        raise SimError(
            401,
            "invalid_request_error",
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if keys is not None and key not in keys:
        raise SimError(
            401,
            "invalid_request_error",
            f"Incorrect API key provided: {_mask(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


def _body(provider: str, raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        return body
    if provider == "anthropic":
        raise SimError(400, "invalid_request_error", "The request body is not valid JSON.")
    raise SimError(
        400,
        "invalid_request_error",
        "We could not parse the JSON body of your request. (HINT: This likely means you "
        "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    )


def _header_int(headers: Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    if not value.strip().isdigit():
        raise SimError(
            400, "invalid_request_error", f"{name}: expected a whole number >= 0, got {value!r}"
        )
    return int(value)


def _status_error(provider: str, fault: Fault, model: str, rpm: int) -> SimError:
    status = STATUS_FAULTS.get(fault.kind) or (529 if provider == "anthropic" else 503)
    if status != 429:
        kind, message = _STATUS_MESSAGES[(provider, status)]
        return SimError(status, kind, message)
    wait = f"{fault.retry_after:g}"
    if provider == "anthropic":
        message = (
            f"This request would exceed the rate limit for your organization of {rpm} requests "
            "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        )
        return SimError(429, "rate_limit_error", message, headers={"retry-after": wait})
    message = (
        f"Rate limit reached for {model} in organization {ORGANIZATION} on requests per min "
        f"(RPM): Limit {rpm}, Used {rpm}, Requested 1. Please try again in {wait}s."
    )
    return SimError(
        429, "requests", message, code="rate_limit_exceeded", headers={"retry-after": wait}
    )


class Endpoint:
    """The ASGI endpoint of one provider route."""

    def __init__(self, route: ProviderRoute, state: SimState) -> None:
        self.route = route
        self.state = state

    def _base_headers(self, request_id: str) -> list[tuple[str, str]]:
        if self.route.provider == "anthropic":
            return [("request-id", request_id), ("anthropic-organization-id", ORGANIZATION)]
        return [
            ("x-request-id", request_id),
            ("openai-organization", ORGANIZATION),
            ("openai-version", "2020-10-01"),
        ]

    def _fault(self, headers: Headers, body: dict[str, Any], model: str) -> Fault | None:
        stream = body.get("stream") is True
        asked = headers.get("x-sim-fault")
        if asked is None:
            return self.state.faults.choose(self.route.path, self.route.provider, model, stream)
        if asked not in HEADER_FAULT_KINDS:
            raise SimError(
                400,
                "invalid_request_error",
                f"x-sim-fault: unknown fault {asked!r}; use one of {', '.join(HEADER_FAULT_KINDS)}",
            )
        if asked in STREAM_ONLY_FAULTS and not stream:
            raise SimError(
                400,
                "invalid_request_error",
                f"x-sim-fault: {asked!r} applies only to streaming requests (set stream: true)",
            )
        return self.state.faults.from_header(asked)

    def _context(self, headers: Headers) -> Context:
        state = self.state
        forced = _header_int(headers, "x-sim-output-tokens")
        return Context(
            state=state,
            now=state.clock.now(),
            output_tokens=state.config.output_tokens if forced is None else forced,
            reasoning_tokens=_header_int(headers, "x-sim-reasoning-tokens"),
        )

    def _charge(self, reply: Reply, model: str, now: float) -> list[tuple[str, str]]:
        """Count the reply against the rate limits; its headers, or a 429 when over."""
        provider = self.route.provider
        limits = self.state.limits
        left = limits.charge(provider, model, reply.charge, now)
        headers = limits.headers(provider, left)
        if left.over is not None:
            wait = str(max(1, math.ceil(left.reset_at - left.now)))
            raise SimError(
                429,
                "rate_limit_error" if provider == "anthropic" else left.over,
                f"Rate limit exceeded on {left.over} per minute for {model}; try again in {wait}s.",
                code=None if provider == "anthropic" else "rate_limit_exceeded",
                headers={"retry-after": wait, **dict(headers)},
            )
        return headers

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state, provider = self.state, self.route.provider
        ids = state.ids
        request_id = ids.anthropic_request() if provider == "anthropic" else ids.openai_request()
        headers = self._base_headers(request_id)
        request = Request(scope, receive)
        try:
            _authenticate(provider, request.headers, state.config.api_keys)
            try:
                raw = await request.body()
            except ClientDisconnect:
                return  # the client left before sending its whole request
            body = _body(provider, raw)
            model = body["model"] if isinstance(body.get("model"), str) else ""
            fault = self._fault(request.headers, body, model)
            kind = fault.kind if fault is not None else None
            if fault is not None and (fault.kind in STATUS_FAULTS or kind == "overloaded"):
                rpm = state.config.rate_limits.requests_per_minute
                raise _status_error(provider, fault, model, rpm)
            if fault is not None and kind == "latency":
                await state.clock.sleep(fault.delay_s)
            hang_s = state.config.faults.hang_seconds
            if kind == "timeout" and await hang(receive, state.clock, hang_s):
                return
            ctx = self._context(request.headers)
            reply = self.route.handler(ctx, body)
            headers.extend(self._charge(reply, model, ctx.now))
        except SimError as error:
            headers.extend(error.headers.items())
            headers.append(("x-should-retry", "true" if error.status >= 429 else "false"))
            await send_json(send, error.status, headers, encode_error(provider, error, request_id))
            return
        profile = state.config.latency_profile
        delays = timing(profile, model, reply.charge, embedding=self.route.quick)
        if provider == "openai":
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            headers.append(("openai-processing-ms", str(elapsed_ms)))
        await send_reply(send, reply, headers, delays, state.clock, kind)


def _provider_of(request: Request) -> str:
    anthropic = "anthropic-version" in request.headers or "x-api-key" in request.headers
    return "anthropic" if anthropic or request.url.path.startswith("/v1/messages") else "openai"


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    where = f"{request.method} {request.url.path}"
    provider = _provider_of(request)
    if provider == "anthropic":
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        error = SimError(
            status, kind, "Not Found" if status == 404 else f"Method not allowed: {where}"
        )
    elif status == 404:
        error = SimError(status, "invalid_request_error", f"Invalid URL ({where})")
    else:
        error = SimError(status, "invalid_request_error", f"Invalid method for URL ({where})")
    content = encode_error(provider, error, "req_none")
    return Response(content, status_code=status, media_type="application/json")


def _models_endpoint(state: SimState, catalog: Catalog) -> Callable[[Request], Any]:
    listing: dict[str, list[str]] = {}

    async def models(request: Request) -> Response:
        provider = _provider_of(request)
        if provider not in listing:
            listing[provider] = sorted(m for _, m in catalog.text_models([provider]))
        created = int(state.clock.now())
        if provider == "anthropic":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in listing[provider]
            ]
            first = data[0]["id"] if data else None
            last = data[-1]["id"] if data else None
            page = {"data": data, "has_more": False, "first_id": first, "last_id": last}
            return JSONResponse(page)
        rows = [
            {"id": m, "object": "model", "created": created, "owned_by": "openai"}
            for m in listing[provider]
        ]
        return JSONResponse({"object": "list", "data": rows})

    return models


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_sim_app(config: SimConfig | None = None, *, catalog: Catalog | None = None) -> Starlette:
    """A simulator app; each call gets its own caches, counters and ids."""
    config = config or SimConfig()
    catalog = catalog or Catalog()
    state = SimState(config, catalog)
    routes = [Route(route.path, Endpoint(route, state), methods=["POST"]) for route in ROUTES]
    routes.append(Route("/v1/models", _models_endpoint(state, catalog), methods=["GET"]))
    routes.append(Route("/healthz", _healthz, methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.sim = state
    return app
