"""One scheduler per ledger: a lock that only one process holds at a time.

`aifinops serve` runs its provider-report scheduler in the process that started it
(the uvicorn supervisor with ``--workers N``), so one ``serve`` runs one scheduler. Two
``serve`` instances on the same ledger (two hosts behind a load balancer) would still
pull twice; the scheduler therefore pulls only while it holds this lock, and the
others keep trying, so one takes over when the holder stops:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) keyed by the
  ledger's schema, held on one connection of its own for as long as the process leads.
  The server frees it when that session ends, however the process ended.
- SQLite (one host by nature): an exclusive ``flock`` on ``<database>-ingest.lock``
  beside the database file, freed by the kernel when the process exits.
- An in-memory SQLite database has a single process by definition: no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("aifinops.ingest.schedule")

LOCK_NAME = "aifinops:ingest-scheduler:"


class LeaderLock(Protocol):
    """Held by at most one process of those sharing a ledger."""

    def acquire(self) -> bool:
        """Take the lock if free (never waits); True while this process holds it.

        False means another process holds it; a ledger that cannot be reached raises
        (SQLAlchemy's or the OS's error), so that is never mistaken for "held elsewhere".
        """
        ...

    def release(self) -> None: ...


class NoLock:
    """For a ledger no other process can open (in-memory SQLite)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLock:
    """An exclusive, non-blocking ``flock`` on a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresLock:
    """A session advisory lock on a connection kept for as long as it is held."""

    _KEY = "hashtextextended(:name || coalesce(current_schema(), ''), 0)"
    _TRY = text(f"SELECT pg_try_advisory_lock({_KEY})")
    _UNLOCK = text(f"SELECT pg_advisory_unlock({_KEY})")

    def __init__(self, engine: Engine, name: str = LOCK_NAME) -> None:
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None

    def _alive(self, conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def acquire(self) -> bool:
        if self._conn is not None:
            if self._alive(self._conn):
                return True
            log.warning("lost the scheduler lock's database session; taking it again")
            self._drop()
        conn = self.engine.connect()
        try:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            held = bool(conn.execute(self._TRY, {"name": self.name}).scalar())
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                conn.invalidate()
            conn.close()
            raise
        if not held:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.invalidate()  # closes the session: the server frees its locks
            conn.close()

    def release(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.execute(self._UNLOCK, {"name": self.name})
        except SQLAlchemyError:
            self._drop()
            return
        self._conn = None
        conn.close()


def lock_for(engine: Engine) -> LeaderLock:
    """The scheduler lock that fits the ledger's database."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLock(engine)
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return NoLock()
    return FileLock(Path(f"{database}-ingest.lock"))
