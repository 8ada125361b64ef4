"""Shared fixtures: real PostgreSQL and Redis when their URLs are set.

Tests that need a service read ``AIFINOPS_TEST_DATABASE_URL`` / ``AIFINOPS_TEST_REDIS_URL``
and skip with a visible reason when unset. CI (``.ci/run``) sets both and also sets
``AIFINOPS_TEST_REQUIRE_SERVICES=1``, which turns such a skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

RUN_ID = uuid.uuid4().hex[:12]


def _service_url(name: str, what: str) -> str:
    url = os.environ.get(name)
    if url:
        return url
    reason = f"{what} tests need {name} (e.g. see DEVELOPERS.md); it is not set"
    if os.environ.get("AIFINOPS_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    return _service_url("AIFINOPS_TEST_DATABASE_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def pg_schema(pg_base_url: str) -> Iterator[str]:
    """A schema of this test run's own, dropped at the end: runs never see each other's rows."""
    import psycopg

    schema = f"aifinops_test_{RUN_ID}"
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service_url("AIFINOPS_TEST_REDIS_URL", "Redis")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"aifinops-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(database URL, PostgreSQL schema or None): a fresh, empty ledger on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}", None
        return
    import psycopg

    base = _service_url("AIFINOPS_TEST_DATABASE_URL", "PostgreSQL")
    schema = f"aifinops_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield base, schema
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def ledger(ledger_url: tuple[str, str | None]) -> Iterator[Engine]:
    """An opened (migrated) ledger engine on each backend."""
    from aifinops.ledger.db import open_ledger

    url, schema = ledger_url
    engine = open_ledger(url, search_path=schema)
    yield engine
    engine.dispose()
