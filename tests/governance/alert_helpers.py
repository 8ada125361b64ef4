"""Alert tests: calls with exact costs, settings, and a real local webhook receiver."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url

from aifinops.economics.settings import EconomicsSettings, FeatureEconomics
from aifinops.governance.alerts import Alert
from aifinops.governance.budgets import Budget, parse_budget
from aifinops.ledger.schema_governance import budget_alerts
from aifinops.ledger.writer import write_events
from aifinops.settings import AlertSettings, Settings
from aifinops.usage import event_from_record

USD = 1_000_000_000
_ids = itertools.count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spend(
    engine: Engine,
    ts: str,
    usd: str | int,
    *,
    team: str | None = "sales",
    feature: str | None = "lead-qualification",
) -> None:
    """One call at ``ts`` (UTC) costing exactly ``usd`` (effective and list)."""
    cost = round(float(usd) * USD)
    record: dict[str, Any] = {
        "event_id": f"alert-ev-{next(_ids)}",
        "ts": utc(ts).isoformat(),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "team": team,
        "feature": feature,
        "customer_id": "acme",
        "input_tokens": 100,
    }
    with engine.begin() as conn:
        write_events(conn, [event_from_record(record)], [(cost, cost, "test")])


def budget(**fields: Any) -> Budget:
    """A team budget (default: sales, 100 USD a month, UTC, 50/75/90, hard 110)."""
    return parse_budget({"scope": "team", "name": "sales", "amount_usd": "100", **fields})


def settings(budgets: Sequence[Budget] = (), **alerts: Any) -> Settings:
    """Settings with these budgets and alert settings; features own teams like the
    synthetic company's."""
    features = (
        FeatureEconomics(name="lead-qualification", team="sales"),
        FeatureEconomics(name="email-drafting", team="sales"),
    )
    return Settings(
        budgets=tuple(budgets),
        alerts=AlertSettings(**{"retry_base_s": 0.0, **alerts}),
        economics=EconomicsSettings(features=features),
    )


def rows(engine: Engine) -> list[Alert]:
    with engine.connect() as conn:
        result = conn.execute(select(budget_alerts).order_by(budget_alerts.c.fired_at))
        return [Alert.from_row(r) for r in result.mappings()]


def keys(alerts: Sequence[Alert]) -> list[tuple[str, str, int]]:
    return sorted((a.subject, a.kind, a.level) for a in alerts)


def pinned_url(url: str, schema: str | None) -> str:
    """A database URL that carries the test's PostgreSQL schema (for CLI and processes)."""
    if schema is None:
        return url
    pinned = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return pinned.render_as_string(hide_password=False)


# --- a real HTTP receiver ----------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers POSTs with ``statuses`` in turn, then ``default``; records every request."""

    statuses: list[int]
    default: int = 200
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.default
            self.requests.append(Request(path, headers, body, status))
            return status

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.answer(self.path, dict(self.headers.items()), body)
            reply = b"ok" if status < 300 else b"internal_error"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def receiver(statuses: Sequence[int] = (), default: int = 200) -> Iterator[Receiver]:
    """A local webhook receiver in a thread (Slack's or a generic one)."""
    state = Receiver(list(statuses), default)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-path"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
