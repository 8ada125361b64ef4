"""HTTP for the providers' admin APIs: GET JSON with retries, and cursor pagination.

The standard library's ``urllib`` does the requests (no extra dependency; these are a
handful of calls an hour). Retries: 429 and 5xx responses and connection errors are
retried up to ``max_retries`` times with exponential backoff (``backoff_s`` × 2^n,
capped at ``max_backoff_s``); a ``Retry-After`` header (seconds or an HTTP date) wins
over the computed delay. Other 4xx responses are not retried: they raise
`AdminAPIError` naming the status and the provider's own message.

Numbers in the JSON bodies are parsed as `decimal.Decimal` when they are not integers,
so a dollar amount such as ``0.06`` is never a binary float.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

Params = Sequence[tuple[str, str]]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
MAX_PAGES = 10_000
#: Headers that carry the admin key: their values never appear in an error message.
SECRET_HEADERS = frozenset({"x-api-key", "authorization"})


class AdminAPIError(RuntimeError):
    """An admin API call failed for good; ``status`` is the last HTTP status (0: no reply)."""

    def __init__(self, message: str, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Does one GET; raises `OSError` when no response arrived."""

    def __call__(
        self, url: str, params: Params, headers: Mapping[str, str], timeout_s: float
    ) -> HttpResponse: ...


def urllib_transport(
    url: str, params: Params, headers: Mapping[str, str], timeout_s: float
) -> HttpResponse:
    """The default `Transport` (standard library)."""
    query = urllib.parse.urlencode(list(params))
    request = urllib.request.Request(f"{url}?{query}" if query else url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return HttpResponse(reply.status, dict(reply.headers.items()), reply.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        exc.close()
        return HttpResponse(exc.code, dict(exc.headers.items()), body)


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return body[:200].decode("utf-8", "replace")


@dataclass
class AdminClient:
    """GETs JSON from one admin API (``base_url`` + path) with auth headers and retries."""

    name: str  # "anthropic" or "openai": for messages
    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    key_env: str = ""  # the environment variable of the key, named in auth errors
    transport: Transport = urllib_transport
    sleep: Callable[[float], None] = time.sleep
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0
    retries: int = 0  # retries done so far (for status and tests)

    def _delay(self, attempt: int, reply: HttpResponse | None) -> float:
        computed = min(self.backoff_s * (1 << attempt), self.max_backoff_s)
        if reply is not None:
            hinted = retry_after_s(_header(reply.headers, "retry-after"))
            if hinted is not None:
                return min(hinted, self.max_backoff_s * 5)
        return computed

    def get_json(self, path: str, params: Params) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        last = ""
        status = 0
        for attempt in range(self.max_retries + 1):
            reply: HttpResponse | None = None
            try:
                reply = self.transport(url, params, self.headers, self.timeout_s)
            except OSError as exc:
                last, status = f"no response ({exc})", 0
            else:
                if reply.status == 200:
                    return _decode(reply.body, self.name, path)
                status = reply.status
                last = f"HTTP {reply.status}: {_error_message(reply.body)}"
                if reply.status not in RETRY_STATUSES:
                    raise AdminAPIError(self._final_message(path, last, reply.status), status)
            if attempt < self.max_retries:
                self.retries += 1
                self.sleep(self._delay(attempt, reply))
        raise AdminAPIError(
            self.redact(
                f"{self.name} {path}: gave up after {self.max_retries + 1} attempts; last: {last}"
            ),
            status,
        )

    def _final_message(self, path: str, last: str, status: int) -> str:
        if status in (401, 403) and self.key_env:
            return self.redact(
                f"{self.name} {path}: {last}. Check {self.key_env}: it must be an Admin key "
                "of the organization"
            )
        return self.redact(f"{self.name} {path}: {last}")

    def redact(self, text: str) -> str:
        """``text`` without the admin key, should a server (or a proxy) echo it back."""
        for name, value in self.headers.items():
            secret = value.strip()
            if name.lower() == "authorization":
                secret = secret.removeprefix("Bearer ").strip()
            if name.lower() in SECRET_HEADERS and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text


def _decode(body: bytes, name: str, path: str) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise AdminAPIError(f"{name} {path}: the response is not JSON", 200) from None
    if not isinstance(data, dict):
        raise AdminAPIError(f"{name} {path}: the response is not a JSON object", 200)
    return data


def iter_pages(client: AdminClient, path: str, params: Params) -> Iterator[dict[str, Any]]:
    """Each page of a ``{data, has_more, next_page}`` listing, following the cursor.

    Stops with `AdminAPIError` if the cursor repeats (a server that loops) or after
    `MAX_PAGES` pages.
    """
    seen: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = client.get_json(path, [*params, *([("page", cursor)] if cursor else [])])
        yield page
        nxt = page.get("next_page")
        if not page.get("has_more") or not nxt:
            return
        cursor = str(nxt)
        if cursor in seen:
            message = f"{client.name} {path}: next_page {cursor!r} repeats"
            raise AdminAPIError(client.redact(message), 200)
        seen.add(cursor)
    raise AdminAPIError(f"{client.name} {path}: more than {MAX_PAGES} pages", 200)
