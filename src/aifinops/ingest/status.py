"""The state of the provider-report pulls, read from ``ingest_runs``.

One `SourceStatus` per source (``anthropic:usage``, ``openai:costs``, …) that was ever
pulled, by the `aifinops serve` schedule or by ``aifinops import``: its latest run,
when it last succeeded, its most recent failure, and how many runs finished each way.
``GET /api/v1/ingest`` and the ``aifinops_ingest_*`` metrics both read it. Three
aggregate queries, one row per source (and status) each: bounded however long the
run history grows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection, Engine

from aifinops.ingest.provider_store import ingest_status
from aifinops.ledger.schema_reports import ingest_runs

COMPLETE = "complete"
FAILED = "failed"
RUNNING = "running"


def as_utc(value: object) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives it back naive, in UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Where one report source stands."""

    source: str
    provider: str
    status: str  # of the latest run: running, complete or failed
    started_at: datetime
    finished_at: datetime | None
    first_day: date
    last_day: date
    days_done: int
    rows: int
    rejected: int
    error: str | None  # the latest run's error (None when it did not fail)
    last_success_at: datetime | None = None  # when the latest successful run finished
    last_error: str | None = None  # the most recent failure, kept after later successes
    last_error_at: datetime | None = None
    runs: Mapping[str, int] = field(default_factory=dict)  # finished runs by status


def _counts(conn: Connection) -> dict[str, dict[str, tuple[int, datetime | None]]]:
    r = ingest_runs.c
    stmt = select(r.source, r.status, func.count(), func.max(r.finished_at)).group_by(
        r.source, r.status
    )
    out: dict[str, dict[str, tuple[int, datetime | None]]] = {}
    for source, status, count, finished in conn.execute(stmt):
        out.setdefault(source, {})[status] = (int(count), as_utc(finished))
    return out


def _last_failures(conn: Connection) -> dict[str, tuple[str | None, datetime | None]]:
    r = ingest_runs.c
    latest = (
        select(r.source, func.max(r.started_at).label("started_at"))
        .where(r.status == FAILED)
        .group_by(r.source)
        .subquery()
    )
    stmt = select(r.source, r.last_error, r.finished_at).join(
        latest, and_(r.source == latest.c.source, r.started_at == latest.c.started_at)
    )
    return {source: (error, as_utc(at)) for source, error, at in conn.execute(stmt)}


def _status(latest: Mapping[str, Any], counts: Mapping[str, Any], failure: Any) -> SourceStatus:
    source = str(latest["source"])
    runs = {status: n for status, (n, _) in counts.items() if status != RUNNING}
    last_error, last_error_at = failure or (None, None)
    return SourceStatus(
        source=source,
        provider=source.split(":", 1)[0],
        status=str(latest["status"]),
        started_at=as_utc(latest["started_at"]) or datetime.min.replace(tzinfo=UTC),
        finished_at=as_utc(latest["finished_at"]),
        first_day=as_day(latest["first_day"]),
        last_day=as_day(latest["last_day"]),
        days_done=int(latest["days_done"]),
        rows=int(latest["rows"]),
        rejected=int(latest["rejected"]),
        error=latest["last_error"],
        last_success_at=counts.get(COMPLETE, (0, None))[1],
        last_error=last_error,
        last_error_at=last_error_at,
        runs=runs,
    )


def source_statuses(conn: Connection) -> list[SourceStatus]:
    """Every source ever pulled, by name."""
    counts = _counts(conn)
    failures = _last_failures(conn)
    seen: set[str] = set()
    out = []
    for latest in ingest_status(conn):
        source = str(latest["source"])
        if source in seen:  # two runs started in the same microsecond: keep one
            continue
        seen.add(source)
        out.append(_status(latest, counts.get(source, {}), failures.get(source)))
    return out


def read_statuses(db: Engine) -> list[SourceStatus]:
    with db.connect() as conn:
        return source_statuses(conn)


def last_attempt(
    conn: Connection, source: str, first: date, last: date
) -> tuple[datetime, str] | None:
    """(start, status) of the latest run of ``source`` that covered ``first``..``last``."""
    r = ingest_runs.c
    stmt = (
        select(r.started_at, r.status)
        .where(and_(r.source == source, r.first_day <= first, r.last_day >= last))
        .order_by(r.started_at.desc())
        .limit(1)
    )
    found = conn.execute(stmt).first()
    if found is None:
        return None
    started = as_utc(found[0])
    assert started is not None
    return started, str(found[1])
