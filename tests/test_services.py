"""The service fixtures themselves: a per-run schema and a per-test Redis prefix."""

from __future__ import annotations

import psycopg
import pytest
import redis


@pytest.mark.postgres
def test_run_schema_is_isolated(pg_base_url: str, pg_schema: str) -> None:
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{pg_schema}".probe (id int primary key)')
        conn.execute(f'INSERT INTO "{pg_schema}".probe VALUES (1)')
        rows = conn.execute(f'SELECT id FROM "{pg_schema}".probe').fetchall()
        assert rows == [(1,)]
        # the schema is this run's own: no other test run's schema is on its search path
        found = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'"
            " AND table_schema LIKE 'aifinops_test_%%'"
        ).fetchall()
        assert (pg_schema,) in found
        conn.execute(f'DROP TABLE "{pg_schema}".probe')


@pytest.mark.redis
def test_redis_prefix_round_trip(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(redis_prefix + "k", "v")
        assert client.get(redis_prefix + "k") == b"v"
    finally:
        client.close()
