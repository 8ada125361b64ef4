"""A recording relay between the gateway and the simulator: what the upstream received.

A threaded HTTP server in the test process that keeps each request's path and JSON body
and forwards it to the simulator (responses are read whole and passed back).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive", "content-encoding"}


@dataclass
class Relay:
    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        return self.received[-1][1]


@contextmanager
def relay_to(upstream: str) -> Iterator[Relay]:
    client = httpx.Client(base_url=upstream, timeout=30)
    relay = Relay("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            relay.received.append((self.path, json.loads(raw)))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
            resp = client.post(self.path, content=raw, headers=headers)
            body = resp.content
            self.send_response(resp.status_code)
            for k, v in resp.headers.items():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    relay.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        server.shutdown()
        server.server_close()
        client.close()
