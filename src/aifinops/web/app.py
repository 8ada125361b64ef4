"""`create_dashboard_app(engine, api)`: the dashboard's pages, served by `aifinops serve`.

Server-rendered (Jinja2) pages that read every figure from the API app given
(`aifinops.web.data`), as the signed-in user; the chart library and the styles
are files of this package (`static/`), so the dashboard works offline. Each answer
carries a Content-Security-Policy that allows this site's own scripts and styles only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aifinops import __version__
from aifinops.web import fmt, pages
from aifinops.web.auth import (
    Authenticator,
    Session,
    may_use_dashboard,
    read_form,
    safe_next,
    signed_in,
    signed_out,
    to_login,
)
from aifinops.web.data import ApiFailure, ApiReader
from aifinops.web.filters import View

#: The paths the dashboard answers (`aifinops.api.server.ServerApp` routes them here).
EXACT_PATHS = frozenset({"/", "/login", "/logout", "/teams", "/features", "/customers", "/models"})
PREFIXES = ("/customers/", "/static/")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

Page = Callable[[ApiReader, Session, View], Awaitable[dict[str, Any]]]


def is_dashboard_path(path: str) -> bool:
    return path in EXACT_PATHS or path.startswith(PREFIXES)


class SecurityHeaders:
    """Pure-ASGI: adds the CSP and friends to every answer; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope["path"]).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Dashboard:
    """The pages' handlers, over one API app and one token check."""

    def __init__(self, engine: Engine, api: ASGIApp) -> None:
        self.api = api
        self.auth = Authenticator(engine)
        self.env = Environment(
            loader=PackageLoader("aifinops.web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            usd=fmt.usd, money=fmt.money, pct=fmt.pct, count=fmt.count, gauge=fmt.gauge
        )
        self.env.globals["version"] = __version__

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    # --- signing in and out ---------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        if await self.auth.session(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return self.render("login.html", next=safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        token = form.get("token", "").strip()
        target = safe_next(form.get("next"))
        role = await self.auth.role(token)
        if role is None:
            error = "Unknown or revoked API token (create one with `aifinops tokens create`)."
        elif not may_use_dashboard(role):
            error = (
                f"A {role} token cannot read the dashboard; sign in with an admin, finance, "
                "team:T or customer:C token."
            )
        else:
            session = Session(token, role)
            if target == "/" or session.customer is not None:
                target = session.home
            response = RedirectResponse(target, status_code=303)
            return signed_in(response, token, secure=request.url.scheme == "https")
        return self.render("login.html", status=401, next=target, error=error)

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        return signed_out(response, secure=request.url.scheme == "https")

    # --- pages ------------------------------------------------------------------------

    async def page(self, request: Request, template: str, title: str, load: Page) -> Response:
        session = await self.auth.session(request)
        if session is None:
            return to_login(request)
        if session.customer is not None:  # a customer token has its statement only
            return RedirectResponse(session.home, status_code=303)
        view = View.from_request(request)
        reader = ApiReader(self.api, session.token)
        base: dict[str, Any] = {
            "session": session,
            "view": view,
            "title": title,
            "path": request.url.path,
        }
        try:
            context = await load(reader, session, view)
        except ApiFailure as exc:
            return self.render("error.html", status=exc.status, failure=exc, **base)
        return self.render(template, **base, **context)

    async def overview(self, request: Request) -> Response:
        return await self.page(request, "overview.html", "Overview", pages.overview)

    async def teams(self, request: Request) -> Response:
        return await self.page(request, "teams.html", "Teams", pages.teams)

    async def features(self, request: Request) -> Response:
        return await self.page(request, "features.html", "Features", pages.features)

    async def customers(self, request: Request) -> Response:
        return await self.page(request, "customers.html", "Customers", pages.customers)

    async def models(self, request: Request) -> Response:
        return await self.page(request, "models.html", "Models and waste", pages.models)

    async def statement(self, request: Request) -> Response:
        session = await self.auth.session(request)
        if session is None:
            return to_login(request)
        customer: str = request.path_params["customer_id"]
        if session.customer is not None and session.customer != customer:
            return RedirectResponse(session.home, status_code=303)
        view = View.from_request(request)
        reader = ApiReader(self.api, session.token)
        base: dict[str, Any] = {
            "session": session,
            "view": view,
            "title": f"Statement of {customer}",
            "path": request.url.path,
        }
        try:
            context = await pages.statement(reader, session, view, customer)
        except ApiFailure as exc:
            return self.render("error.html", status=exc.status, failure=exc, **base)
        return self.render("statement.html", **base, **context)


def create_dashboard_app(engine: Engine, api: ASGIApp) -> ASGIApp:
    """The dashboard over ``api`` (the `/api/v1` app), checking tokens on ``engine``."""
    d = Dashboard(engine, api)
    routes = [
        Route("/", d.overview),
        Route("/login", d.login_page, methods=["GET"]),
        Route("/login", d.login, methods=["POST"]),
        Route("/logout", d.logout, methods=["POST"]),
        Route("/teams", d.teams),
        Route("/features", d.features),
        Route("/customers", d.customers),
        Route("/customers/{customer_id}", d.statement),
        Route("/models", d.models),
        Mount("/static", app=StaticFiles(packages=[("aifinops.web", "static")]), name="static"),
    ]
    return SecurityHeaders(Starlette(routes=routes))
