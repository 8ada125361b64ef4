"""Local fake Anthropic and OpenAI Admin APIs (http.server in a thread, 127.0.0.1:0).

They reproduce the documented shapes (provider-formats.md §1a, §2a, §2b): buckets of
results, ``has_more``/``next_page`` cursors, ``limit``, and errors. A test sets the
buckets to serve per path, how many buckets go on a page, faults to send first
(429 with Retry-After, 500), and whether pages overlap (a page repeating the last
bucket of the one before).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Fault:
    status: int
    retry_after: str | None = None
    body: dict[str, Any] = field(default_factory=lambda: {"error": {"message": "slow down"}})


@dataclass
class FakeState:
    #: path → list of (bucket start, results): buckets in time order
    buckets: dict[str, list[tuple[datetime, list[dict[str, Any]]]]] = field(default_factory=dict)
    page_size: int = 2
    overlap: bool = False
    faults: list[Fault] = field(default_factory=list)
    key_header: tuple[str, str] = ("x-api-key", "sk-ant-admin-test")
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    #: fail permanently (500) after this many successful pages (None: never)
    die_after_pages: int | None = None
    pages_served: int = 0
    #: answer every request with this (after the key check) while it is set
    fail_with: Fault | None = None


def _stamp(moment: datetime, style: str) -> Any:
    if style == "openai":
        return int(moment.timestamp())
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(query: dict[str, list[str]], style: str) -> tuple[datetime, datetime]:
    if style == "openai":
        lo = datetime.fromtimestamp(int(query["start_time"][0]), UTC)
        hi = datetime.fromtimestamp(int(query["end_time"][0]), UTC)
        return lo, hi
    lo = datetime.fromisoformat(query["starting_at"][0].replace("Z", "+00:00"))
    hi = datetime.fromisoformat(query["ending_at"][0].replace("Z", "+00:00"))
    return lo, hi


class _Handler(BaseHTTPRequestHandler):
    state: FakeState
    style: str

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.state
        url = urlparse(self.path)
        query = parse_qs(url.query)
        state.requests.append((url.path, query))
        name, value = state.key_header
        if self.headers.get(name) != value:
            self._send(401, {"error": {"type": "authentication_error", "message": "invalid key"}})
            return
        if state.faults or state.fail_with is not None:
            fault = state.faults.pop(0) if state.faults else state.fail_with
            assert fault is not None
            extra = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            self._send(fault.status, fault.body, extra)
            return
        if state.die_after_pages is not None and state.pages_served >= state.die_after_pages:
            self._send(500, {"error": {"message": "internal error"}})
            return
        buckets = state.buckets.get(url.path)
        if buckets is None:
            self._send(404, {"error": {"message": f"no route {url.path}"}})
            return
        lo, hi = _window(query, self.style)
        chosen = [b for b in buckets if lo <= b[0] < hi]
        start = int(query.get("page", ["0"])[0].removeprefix("page_") or 0)
        size = min(state.page_size, int(query.get("limit", ["7"])[0]))
        page = chosen[start : start + size]
        nxt = start + size
        if state.overlap and nxt < len(chosen):
            nxt -= 1  # the next page repeats this page's last bucket
        has_more = start + size < len(chosen)
        body: dict[str, Any] = {
            "data": [
                {
                    **({"object": "bucket"} if self.style == "openai" else {}),
                    ("start_time" if self.style == "openai" else "starting_at"): _stamp(
                        b0, self.style
                    ),
                    ("end_time" if self.style == "openai" else "ending_at"): _stamp(b0, self.style),
                    "results": results,
                }
                for b0, results in page
            ],
            "has_more": has_more,
            "next_page": f"page_{nxt}" if has_more else None,
        }
        if self.style == "openai":
            body["object"] = "page"
        state.pages_served += 1
        self._send(200, body)


@dataclass
class FakeServer:
    url: str
    state: FakeState


def serve(style: str, state: FakeState) -> Iterator[FakeServer]:
    """Run a fake admin API (``style`` anthropic or openai) until the generator closes."""
    handler = type("Handler", (_Handler,), {"state": state, "style": style})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if style == "openai" else "")
    try:
        yield FakeServer(base, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
