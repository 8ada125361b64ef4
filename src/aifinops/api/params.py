"""Parsing of query parameters shared by the endpoints; errors name the parameter."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

import orjson
from fastapi import Query, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aifinops.api.context import ApiContext, Principal, iso
from aifinops.api.errors import ApiError
from aifinops.api.roles import Permission
from aifinops.periods import PeriodError, parse_day, parse_month

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token (`aifinops tokens create --role …`); gateway keys are not "
    "API tokens.",
)

FromParam = Annotated[
    str | None,
    Query(alias="from", max_length=20, description="First UTC date, YYYY-MM-DD or today."),
]
ToParam = Annotated[
    str | None,
    Query(alias="to", max_length=20, description="Last UTC date (inclusive), YYYY-MM-DD."),
]
CursorParam = Annotated[
    str | None,
    Query(max_length=400, description="meta.next_cursor of the previous page."),
]
#: Printable text only: PostgreSQL cannot even compare a string holding NUL.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Dimension = Annotated[str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE)]


def requires(ctx: ApiContext, permission: Permission) -> Callable[..., Principal]:
    """A dependency: the caller's token, which must grant ``permission`` (else 401/403)."""

    def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        if credentials is None:
            raise ApiError(
                401,
                "send Authorization: Bearer <API token> "
                "(create one with `aifinops tokens create --role …`)",
            )
        principal = ctx.authenticate(credentials.credentials)
        if principal is None:
            raise ApiError(
                401,
                "unknown or revoked API token (gateway keys are not API tokens; "
                "see `aifinops tokens list`)",
            )
        if not principal.role.may(permission):
            raise ApiError(403, f"the {principal.role} role may not {permission}")
        return principal

    return dependency


def day_param(name: str, text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_day(name, text)
    except PeriodError as exc:
        raise ApiError(400, str(exc), field=exc.field) from None


def date_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    lo, hi = day_param("from", start), day_param("to", end)
    if lo is not None and hi is not None and hi < lo:
        raise ApiError(400, f"to: {hi} is before from ({lo})", field="to")
    return lo, hi


def spend_range(start: str | None, end: str | None, month: str | None) -> tuple[date, date]:
    """``from``+``to``, or ``month``; neither means the current UTC month."""
    if month and (start or end):
        raise ApiError(400, "month: give either month or from/to, not both", field="month")
    try:
        if month or not (start or end):
            return parse_month(month or "current")
    except PeriodError as exc:
        raise ApiError(400, str(exc), field=exc.field) from None
    lo, hi = date_range(start, end)
    if lo is None or hi is None:
        missing = "from" if lo is None else "to"
        raise ApiError(400, f"{missing}: give both from and to (or month)", field=missing)
    return lo, hi


def encode_cursor(after: tuple[datetime, str] | None) -> str | None:
    if after is None:
        return None
    raw = orjson.dumps([iso(after[0]), after[1]])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str | None) -> tuple[datetime, str] | None:
    if not text:
        return None
    bad = ApiError(400, "cursor: not a cursor this API gave; pass meta.next_cursor", field="cursor")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise bad
    if not value[1].isprintable() or len(value[1]) > 200:
        raise bad
    try:
        at = datetime.fromisoformat(value[0].replace("Z", "+00:00"))
    except ValueError:
        raise bad from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)), value[1]
