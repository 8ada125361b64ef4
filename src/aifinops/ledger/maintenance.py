"""Ledger upkeep: status, backup (SQLite), pruning raw events past retention."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from aifinops.ledger import migrate
from aifinops.ledger.schema import ledger_meta, rollup_hourly, usage_events

PRUNED_BEFORE = "pruned_before"


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    url: str
    backend: str
    revision: str | None
    head: str
    events: int
    first_event: datetime | None
    last_event: datetime | None
    rollup_rows: int
    first_day: date | None
    last_day: date | None
    pruned_before: date | None
    size_bytes: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "backend": self.backend,
            "revision": self.revision,
            "head": self.head,
            "events": self.events,
            "first_event": _iso(self.first_event),
            "last_event": _iso(self.last_event),
            "rollup_rows": self.rollup_rows,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "pruned_before": self.pruned_before.isoformat() if self.pruned_before else None,
            "size_bytes": self.size_bytes,
        }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def get_meta(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(ledger_meta.c.value).where(ledger_meta.c.key == key)).scalar()


def set_meta(engine: Engine, key: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ledger_meta).where(ledger_meta.c.key == key))
        conn.execute(ledger_meta.insert().values(key=key, value=value))


def sqlite_path(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)


def status(engine: Engine) -> LedgerStatus:
    with engine.connect() as conn:
        events, first, last = conn.execute(
            select(func.count(), func.min(usage_events.c.ts), func.max(usage_events.c.ts))
        ).one()
        rollups, first_day, last_day = conn.execute(
            select(func.count(), func.min(rollup_hourly.c.day), func.max(rollup_hourly.c.day))
        ).one()
    path = sqlite_path(engine)
    pruned = get_meta(engine, PRUNED_BEFORE)
    return LedgerStatus(
        url=engine.url.render_as_string(hide_password=True),
        backend=engine.dialect.name,
        revision=migrate.current_revision(engine),
        head=migrate.head_revision(),
        events=int(events),
        first_event=first,
        last_event=last,
        rollup_rows=int(rollups),
        first_day=_as_date(first_day),
        last_day=_as_date(last_day),
        pruned_before=date.fromisoformat(pruned) if pruned else None,
        size_bytes=path.stat().st_size if path and path.exists() else None,
    )


class BackupError(RuntimeError):
    """The backup could not be made; says why and what to do instead."""


def backup(engine: Engine, target: Path) -> int:
    """Copy a SQLite ledger to ``target`` online (readers and writers may continue)."""
    source = sqlite_path(engine)
    if source is None:
        raise BackupError(
            "ledger backup copies SQLite ledgers; for PostgreSQL use pg_dump "
            '(e.g. pg_dump --format=custom --file=aifinops.dump "$AIFINOPS_DATABASE_URL")'
        )
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target.stat().st_size


def prune(engine: Engine, before: date) -> int:
    """Delete raw events whose UTC date is before ``before``; rollups stay untouched."""
    cutoff = datetime(before.year, before.month, before.day, tzinfo=UTC)
    with engine.begin() as conn:
        deleted = conn.execute(delete(usage_events).where(usage_events.c.ts < cutoff)).rowcount
    current = get_meta(engine, PRUNED_BEFORE)
    if current is None or date.fromisoformat(current) < before:
        set_meta(engine, PRUNED_BEFORE, before.isoformat())
    return int(deleted or 0)
