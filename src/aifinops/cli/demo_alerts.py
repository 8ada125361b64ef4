"""The demo's webhook receiver: where `aifinops demo`'s gateway delivers budget alerts.

A real HTTP server on 127.0.0.1 (a free port) in a thread of the demo's process. It
does what a receiver of aifinops' generic webhook should do (docs/governance.md,
"Channels"): it checks ``X-Aifinops-Signature`` (HMAC-SHA256 of the raw body with the
shared secret) and ``X-Aifinops-Timestamp`` (at most `MAX_AGE_S` old), answers 401 to a
delivery that fails either, and drops a repeat of an alert id it has already taken.
Each alert it takes becomes one readable line::

    ALERT sales: 90% threshold crossed — $202.35 of $213.00 (monthly), projected $250.10;
    top: lead-qualification, email-drafting

Every checked delivery (repeats included) is appended to a JSON Lines file, so what the
receiver got can be read back after the demo.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from aifinops.governance.channels import (
    ALERT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    money,
    verify,
)

#: A delivery signed longer ago than this is refused (replayed or badly delayed).
MAX_AGE_S = 300
MAX_BODY_BYTES = 1_000_000

_PERIODS = {"month": "monthly", "week": "weekly", "day": "daily"}


def _who(details: dict[str, Any]) -> str:
    scope, name = details.get("scope"), details.get("name")
    if scope == "org":
        return "the org"
    return str(name) if scope == "team" else f"{scope} {name}"


def _what(doc: dict[str, Any]) -> str:
    details: dict[str, Any] = doc.get("details") or {}
    kind, level = doc.get("kind"), doc.get("level")
    if kind == "threshold":
        return f"{level}% threshold crossed"
    if kind == "hard_limit":
        return f"hard limit ({level}%) reached, the gateway applies {details.get('action')}"
    if kind == "projected":
        return f"on course to pass its hard limit ({level}%) this {details.get('period')}"
    return "spend anomaly"


def alert_line(doc: dict[str, Any]) -> str:
    """One readable line of a webhook body (see the module docstring)."""
    details: dict[str, Any] = doc.get("details") or {}
    head = f"ALERT {_who(details)}: {_what(doc)}"
    if doc.get("kind") == "anomaly":
        times = details.get("times_median")
        usual = f", {times}× its usual day ({money(details.get('baseline_median_usd'))})"
        day = f"{head} — {money(details.get('spend_usd'))} on {details.get('day')}"
        return day + (usual if times else "")
    period = _PERIODS.get(str(details.get("period")), str(details.get("period")))
    top = [str(f.get("feature") or "(untagged)") for f in details.get("top_features") or []]
    return (
        f"{head} — {money(details.get('spend_usd'))} of {money(details.get('amount_usd'))} "
        f"({period}), projected {money(details.get('projected_usd'))}"
        + (f"; top: {', '.join(top)}" if top else "")
    )


@dataclass
class Received:
    """What the receiver took so far (guarded by ``lock``)."""

    alerts: list[dict[str, Any]] = field(default_factory=list)  # first delivery of each id
    ids: set[str] = field(default_factory=set)
    repeats: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class AlertReceiver:
    """``with AlertReceiver(secret, record, say) as receiver:`` … ``receiver.url``.

    ``say`` gets each alert's line. Lines are held until `release` (so that the demo's
    own pointers are printed first), then passed on as alerts arrive.
    """

    def __init__(self, secret: str, record: Path, say: Callable[[str], None]) -> None:
        self.secret = secret
        self.record = record
        self.received = Received()
        self._say = say
        self._held: list[str] | None = []
        self._say_lock = threading.Lock()
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_bytes(b"")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="aifinops-demo-webhook",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/aifinops-alerts"

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self.release()

    def release(self) -> None:
        """Print the lines held so far; from now on print each as it arrives."""
        with self._say_lock:
            held, self._held = self._held, None
            for line in held or []:
                self._say(line)

    def say(self, line: str) -> None:
        with self._say_lock:
            if self._held is not None:
                self._held.append(line)
            else:
                self._say(line)

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        """Check one delivery and take it; the HTTP status to answer."""
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        try:
            sent = int(headers.get(TIMESTAMP_HEADER.lower(), ""))
        except ValueError:
            sent = 0
        if not verify(body, self.secret, signature) or abs(time.time() - sent) > MAX_AGE_S:
            with self.received.lock:
                self.received.refused += 1
            self.say("webhook: refused a delivery whose signature or timestamp did not check")
            return 401
        try:
            doc = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(doc, dict):
            return 400
        alert_id = str(headers.get(ALERT_ID_HEADER.lower()) or doc.get("alert_id"))
        with self.received.lock:
            with self.record.open("ab") as out:
                out.write(body + b"\n")
            repeat = alert_id in self.received.ids
            if repeat:
                self.received.repeats += 1
            else:
                self.received.ids.add(alert_id)
                self.received.alerts.append(doc)
        if not repeat:
            self.say(alert_line(doc))
        return 200

    def summary(self) -> str:
        """``alerts: 7 received by the demo's webhook …`` (what the run got)."""
        with self.received.lock:
            alerts = list(self.received.alerts)
            repeats, refused = self.received.repeats, self.received.refused
        by_subject: dict[str, list[str]] = {}
        for a in alerts:
            level = "anomaly" if a.get("kind") == "anomaly" else f"{a.get('level')}%"
            if a.get("kind") == "hard_limit":
                level = f"hard limit {level}"
            elif a.get("kind") == "projected":
                level = f"projected over {level}"
            by_subject.setdefault(_who(a.get("details") or {}), []).append(level)
        what = "; ".join(f"{who} {', '.join(levels)}" for who, levels in by_subject.items())
        extra = f", {repeats} repeats dropped" if repeats else ""
        extra += f", {refused} refused (bad signature)" if refused else ""
        return (
            f"alerts: {len(alerts)} received by the demo's webhook, signatures checked"
            f"{extra}{': ' + what if what else ''} (all in {self.record})"
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._answer(receiver.take(body, headers))

            def _answer(self, status: int) -> None:
                payload = b'{"ok":true}' if status == 200 else b'{"ok":false}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the demo prints the alerts themselves."""

        return Handler


__all__ = ["AlertReceiver", "alert_line"]
