"""The one error shape of ``/api/v1``: ``{"error": {"code", "message", "field"}}``.

Every error answers in it: our own (`ApiError`), FastAPI's validation errors (a bad
query or path parameter is a 400 naming it; a bad body a 422 naming the field),
Starlette's 404/405, and anything unexpected (a 500 that says nothing internal).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("aifinops.api")

_CODES = {
    400: "invalid_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_body",
    500: "internal",
}


class ApiError(Exception):
    """An error answered in the API's shape; ``field`` names the parameter at fault."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, code: str | None = None
    ) -> None:
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.field = field
        super().__init__(message)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _field(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("query", "path", "body") else []
    return ".".join(parts) or None


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = tuple(first.get("loc", ()))
    field = _field(loc)
    in_body = bool(loc) and loc[0] == "body"
    status = 422 if in_body else 400
    where = f"{field}: " if field else ""
    return error_response(status, _CODES[status], f"{where}{first.get('msg', 'invalid')}", field)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else _CODES.get(status, "error")
    return error_response(status, _CODES.get(status, "error"), detail)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in the API", exc_info=exc)
    return error_response(500, "internal", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
