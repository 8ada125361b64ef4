"""Signing in to the dashboard with an API token, and what each role may see.

``POST /login`` checks the token as the API does (`aifinops.api.tokens.verify_token`) and
sets it in a cookie that scripts cannot read (HttpOnly) and that no other site's page
sends along (SameSite=Strict); every page reads the token from there and is checked
again on each request, so a revoked token is signed out at its next click. Nothing else
is kept on the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aifinops.api.roles import Permission, Role, RoleKind
from aifinops.api.tokens import verify_token

COOKIE = "aifinops_session"
#: How long a browser keeps the sign-in (the token itself lives until revoked).
MAX_AGE_S = 12 * 3600
MAX_FORM_BYTES = 4096

#: The pages and the permission each needs; a customer token has its statement only.
PAGES: tuple[tuple[str, str, Permission], ...] = (
    ("/", "Overview", Permission.spend_read),
    ("/teams", "Teams", Permission.budgets_read),
    ("/features", "Features", Permission.economics_read),
    ("/customers", "Customers", Permission.showback_read),
    ("/models", "Models and waste", Permission.spend_read),
)


@dataclass(frozen=True, slots=True)
class Session:
    """The signed-in user: their token and its role."""

    token: str
    role: Role

    @property
    def customer(self) -> str | None:
        return self.role.value if self.role.kind is RoleKind.customer else None

    @property
    def team(self) -> str | None:
        return self.role.value if self.role.kind is RoleKind.team else None

    def nav(self) -> list[tuple[str, str]]:
        """(path, title) of the pages this role may open."""
        if self.customer is not None:
            return [(f"/customers/{self.customer}", "Statement")]
        return [(path, title) for path, title, need in PAGES if self.role.may(need)]

    @property
    def home(self) -> str:
        return self.nav()[0][0]


def may_use_dashboard(role: Role) -> bool:
    return role.may(Permission.spend_read) or role.may(Permission.statement_read)


class Authenticator:
    """Checks API tokens against the ledger's token table (off the event loop)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _role(self, token: str) -> Role | None:
        with self._engine.connect() as conn:
            record = verify_token(conn, token)
        return None if record is None else record.role

    async def role(self, token: str) -> Role | None:
        if not token or len(token) > 500:
            return None
        return await asyncio.to_thread(self._role, token)

    async def session(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE, "")
        role = await self.role(token)
        if role is None or not may_use_dashboard(role):
            return None
        return Session(token, role)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = "" if target == "/" else "?" + urlencode({"next": target})
    return RedirectResponse(f"/login{query}", status_code=303)


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, bounded; first value of each name."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def signed_in(response: Response, token: str, *, secure: bool) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return response


def signed_out(response: Response, *, secure: bool) -> Response:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response
