"""Every figure a page shows comes from ``/api/v1``: an in-process HTTP call to the API
app with the signed-in user's token as ``Authorization: Bearer``.

So a page can show nothing the same user could not read from the API, its role's scope
is the API's own, and page and API never disagree. The calls go through
`httpx.ASGITransport` (no socket); a page makes its calls concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

PREFIX = "/api/v1"


class ApiFailure(Exception):
    """The API refused a call; ``status`` and its message, as the API said them."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Call:
    """One API read: a path under /api/v1 and its query (None values left out)."""

    path: str
    params: Mapping[str, str | int | bool | None]
    #: a capability that may not exist in this version (a 404 gives None) or may not be
    #: for every role (a 403 gives ``{"forbidden": True}``): the page says so
    optional: bool = False

    def query(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.params.items():
            if value is None:
                continue
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out


class ApiReader:
    """Reads ``/api/v1`` as one user (their API token)."""

    def __init__(self, api: ASGIApp, token: str) -> None:
        self._api = api
        self._token = token

    async def read(self, *calls: Call) -> list[dict[str, Any] | None]:
        """The JSON bodies of ``calls``, made concurrently, in order; raises `ApiFailure`
        on the first refused one (an ``optional`` call's 404 gives None)."""
        transport = httpx.ASGITransport(app=self._api)
        headers = {"authorization": f"Bearer {self._token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dashboard", headers=headers
        ) as client:
            responses = await asyncio.gather(
                *(client.get(PREFIX + c.path, params=c.query()) for c in calls)
            )
        out: list[dict[str, Any] | None] = []
        for call, response in zip(calls, responses, strict=True):
            if call.optional and response.status_code in (404, 405):
                out.append(None)  # not in this version
                continue
            if call.optional and response.status_code == 403:
                out.append({"forbidden": True})  # not for this role
                continue
            if response.status_code != 200:
                raise _failure(response)
            body = response.json()
            out.append(body if isinstance(body, dict) else {"rows": body})
        return out

    async def one(self, call: Call) -> dict[str, Any]:
        (body,) = await self.read(call)
        assert body is not None  # only optional calls give None
        return body


def _failure(response: httpx.Response) -> ApiFailure:
    try:
        error = response.json()["error"]
        return ApiFailure(response.status_code, str(error["message"]), error.get("field"))
    except (ValueError, KeyError, TypeError):
        return ApiFailure(response.status_code, response.text[:300] or response.reason_phrase)
