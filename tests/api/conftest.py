"""A ledger filled with three days of the synthetic company, and a token for every role.

Every API test runs on SQLite and on PostgreSQL: `filled` is filled once per backend
(package scope) and shared by the read-only tests; PostgreSQL gets a schema of its own,
dropped at the end. Without AIFINOPS_TEST_DATABASE_URL the PostgreSQL half skips with
the reason shown (fails under AIFINOPS_TEST_REQUIRE_SERVICES=1), as in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url

from aifinops.api import create_api_app
from aifinops.api.roles import Role
from aifinops.api.tokens import create_token
from aifinops.gateway.keys import create_key
from aifinops.ingest.events import import_events
from aifinops.ingest.files import iter_rows
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import gateway_rejections, usage_events
from aifinops.pricing import PricingEngine
from aifinops.settings import Settings
from aifinops.sim.company import CompanyOptions, generate
from tests.conftest import RUN_ID

END = date(2026, 10, 31)
FIRST = date(2026, 10, 29)
OPTIONS = CompanyOptions(days=3, end=END, scale=0.1, customers=8)
BACKENDS = ("sqlite", "postgres")

#: One token per role; the scoped ones for a team/customer that has traffic and one more.
ROLES: tuple[str, ...] = (
    "admin",
    "finance",
    "team:support",
    "team:sales",
    "customer:cust-001",
    "customer:cust-004",
    "ingest",
    "metrics",
)


@dataclass
class Filled:
    engine: Engine
    url: str
    tokens: dict[str, str]  # role → secret
    events: list[dict[str, Any]]  # every raw event, for independent checks
    gateway_key: str
    folder: Path
    backend: str = "sqlite"

    def headers(self, role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}


def schema_url(base: str, schema: str) -> str:
    """``base`` pinned to a PostgreSQL schema, as AIFINOPS_DATABASE_URL takes it (CLI, serve)."""
    pinned = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return pinned.render_as_string(hide_password=False)


@contextmanager
def backend_url(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """An empty ledger's URL on ``backend``: a SQLite file in ``folder``, or a PostgreSQL
    schema of its own (dropped afterwards; skips or fails as tests/conftest.py says)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    import psycopg

    base: str = request.getfixturevalue("pg_base_url")
    schema = f"aifinops_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fill(folder: Path, url: str | None = None, backend: str = "sqlite") -> Filled:
    generate(folder, OPTIONS)
    url = url or f"sqlite:///{folder / 'ledger.db'}"
    engine = open_ledger(url)
    with (folder / "events.jsonl").open(encoding="utf-8") as stream:
        summary = import_events(
            engine,
            PricingEngine(),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=lambda r: pytest.fail(str(r)),
        )
    assert summary.imported > 300
    tokens: dict[str, str] = {}
    with engine.begin() as conn:
        for role in ROLES:
            tokens[role] = create_token(conn, Role.parse(role), f"test {role}")[1]
        for team in ("support", "sales", "platform"):
            create_key(conn, team, None, f"{team} key")
        _, gateway_key = create_key(conn, "support", "triage", "support triage")
        conn.execute(
            gateway_rejections.insert(),
            [
                {
                    "rejection_id": f"rej{i:03d}",
                    "ts": datetime(2026, 10, 29 + i % 3, i, tzinfo=UTC),
                    "status": 401 if i % 2 else 400,
                    "reason": "unknown_key" if i % 2 else "invalid_header",
                    "provider": "openai",
                    "path": "/openai/v1/chat/completions",
                    "team": ("support", "sales", None)[i % 3],
                }
                for i in range(12)
            ],
        )
        events = [dict(r._mapping) for r in conn.execute(select(usage_events))]
    return Filled(engine, url, tokens, events, gateway_key, folder, backend)


@contextmanager
def filled_ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Filled]:
    """`fill` on the backend of ``request.param``; the engine disposed, the schema dropped."""
    backend: str = request.param
    folder = tmp_path_factory.mktemp(f"{name}-{backend}")
    with backend_url(request, backend, folder) as url:
        data = fill(folder, url, backend)
        try:
            yield data
        finally:
            data.engine.dispose()


@pytest.fixture(scope="package", params=BACKENDS)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    """Read-only, shared by the package on each backend: tests that write make their own
    ledger (tests/api/test_writes.py `fresh`, tests/api/test_openapi.py `own`)."""
    with filled_ledger(request, tmp_path_factory, "api-company") as data:
        yield data


@pytest.fixture(scope="package")
def api(filled: Filled) -> FastAPI:
    return create_api_app(Settings(), filled.engine)


class Client:
    """A synchronous face over an in-process `httpx.AsyncClient` (one event loop)."""

    def __init__(self, app: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture(scope="package")
def client(api: FastAPI) -> Iterator[Client]:
    c = Client(api)
    yield c
    c.close()
