"""Opening the ledger: SQLite (WAL) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, Pool

from aifinops.ledger import migrate


class LedgerURLError(ValueError):
    """The database URL cannot be used; names the setting and the fix."""


def normalise_url(url: str) -> URL:
    """``postgresql://`` (and ``postgres://``) URLs use psycopg 3; SQLite files stay as given."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise LedgerURLError(
            f"AIFINOPS_DATABASE_URL: {url!r} is not a database URL "
            "(use sqlite:///path/to/aifinops.db or postgresql://user@host:5432/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise LedgerURLError(
        f"AIFINOPS_DATABASE_URL: the {backend!r} backend is not supported; "
        "use sqlite:/// or postgresql://"
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: bulk imports
    cursor.execute("PRAGMA temp_store=MEMORY")
    # the WAL grows to an import span's pages; once checkpointed it is cut back to this
    # (without it the file keeps its largest size while any connection stays open)
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


#: libpq connection parameters set unless the URL sets them.
_PG_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


def create_ledger_engine(url: str, *, search_path: str | None = None) -> Engine:
    """An engine for ``url``; ``search_path`` pins a PostgreSQL schema (used by tests)."""
    parsed = normalise_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        # sessions in UTC, so dates and hours mean the same on every server
        options = [str(parsed.query.get("options", "")), "-c timezone=UTC"]
        if search_path:
            options.append(f"-c search_path={search_path}")
        connect_args["options"] = " ".join(o for o in options if o)
        # a server that vanished (no RST: a host down, a network cut) fails a connect or
        # a query within a minute instead of TCP's quarter of an hour; the URL may override
        for name, value in _PG_TIMEOUTS.items():
            if name not in parsed.query:
                connect_args[name] = value
    engine = create_engine(parsed, connect_args=connect_args)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _close_pool_when_dropped(engine)
    return engine


class _PoolCloser:
    """Closes the pooled connections of an engine that is dropped without `dispose()`."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def follow(self, engine: Engine) -> None:
        self.pool = engine.pool  # `dispose()` put a new pool in place

    def __call__(self) -> None:
        self.pool.dispose()


def _close_pool_when_dropped(engine: Engine) -> None:
    """A CLI command run in-process (tests) drops its engine without disposing it; its
    idle pooled connections would then be left to the garbage collector, which psycopg
    reports as a ResourceWarning. They are closed properly when the engine goes instead."""
    closer = _PoolCloser(engine.pool)
    event.listen(engine, "engine_disposed", closer.follow)
    weakref.finalize(engine, closer)


def open_ledger(url: str, *, search_path: str | None = None) -> Engine:
    """Open the ledger at ``url``, creating or migrating it on first use."""
    engine = create_ledger_engine(url, search_path=search_path)
    if migrate.at_head(engine):  # the common case, answered without importing Alembic
        return engine
    if migrate.current_revision(engine) != migrate.head_revision():
        migrate.upgrade(engine)
    return engine
