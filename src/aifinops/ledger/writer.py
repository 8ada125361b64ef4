"""Idempotent batch writes: events in, hourly rollups updated in the same transaction.

`write_events` inserts a batch of priced events and adds to the rollup only those it
actually inserted, so replaying a file adds nothing anywhere. One transaction per batch:
the events and their rollup deltas land together or not at all.

- PostgreSQL: ``INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING event_id`` (exact
  even when several writers race on the same ids).
- SQLite: the batch's ids already present are read first, then the rest inserted, in
  one transaction; SQLite has one writer, and in WAL mode a writer whose read snapshot
  went stale fails rather than double-counting.

Both use the driver's ``executemany`` on prepared tuples: the ORM-free fast path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    rollup_hourly,
    usage_events,
)
from aifinops.usage import ATTRIBUTION_FIELDS, TOKEN_FIELDS, UsageEvent

RollupKey = tuple[Any, ...]
Cost = tuple[int | None, int | None, str | None]

EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in usage_events.columns)
_IDX = {name: i for i, name in enumerate(EVENT_COLUMNS)}
_JSON_COLUMNS = frozenset({"tags", "guardrails", "details"})
_SQLITE_IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    duplicates: int


def event_row(event: UsageEvent, cost: Cost | None = None) -> dict[str, Any]:
    """The ``usage_events`` row of an event (``cost`` overrides the event's own cost)."""
    usage, attribution = event.usage, event.attribution
    list_nusd, effective_nusd, version = (
        cost
        if cost is not None
        else (event.list_cost_nusd, event.effective_cost_nusd, event.price_version)
    )
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "request_id": event.request_id,
        "ts": event.ts,
        "duration_ms": event.duration_ms,
        "ttft_ms": event.ttft_ms,
        "provider": event.provider,
        "model": event.model,
        "requested_model": event.requested_model,
        "endpoint": event.endpoint,
        "service_tier": event.service_tier,
        "batch": event.batch,
        "tags": dict(attribution.tags) or None,
        "list_cost_nusd": list_nusd,
        "effective_cost_nusd": effective_nusd,
        "price_version": version,
        "max_tokens": event.max_tokens,
        "stop_reason": event.stop_reason,
        "system_tokens": event.system_tokens,
        "system_hash": event.system_hash,
        "prefix_hash": event.prefix_hash,
        "context_chunks": event.context_chunks,
        "status": event.status,
        "error_type": event.error_type,
        "unpriced": list_nusd is None,
        "usage_estimated": event.usage_estimated,
        "unattributed": event.unattributed,
        "route_reason": event.route_reason,
        "guardrails": list(event.guardrails) or None,
        "details": None,
    }
    for name in ATTRIBUTION_FIELDS:
        row[name] = getattr(attribution, name)
    for name in TOKEN_FIELDS:
        row[name] = getattr(usage, name)
    return row


def hour_of(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def rollup_key(row: Mapping[str, Any]) -> RollupKey:
    return (hour_of(row["ts"]), *(row[d] or "" for d in ROLLUP_DIMENSIONS))


def measures_of(row: Mapping[str, Any]) -> tuple[int, ...]:
    """One event's contribution to each rollup measure, in `ROLLUP_MEASURES` order."""
    unpriced = row["list_cost_nusd"] is None
    status = row["status"]
    error = bool(row["error_type"]) or (status is not None and status >= 400)
    tokens = (
        row["input_tokens"]
        + row["cache_read_tokens"]
        + row["cache_write_5m_tokens"]
        + row["cache_write_1h_tokens"]
        + row["output_tokens"]
    )
    return (
        1,
        int(error),
        int(unpriced),
        tokens if unpriced else 0,
        row["input_tokens"],
        row["cache_read_tokens"],
        row["cache_write_5m_tokens"],
        row["cache_write_1h_tokens"],
        row["output_tokens"],
        row["reasoning_tokens"],
        row["web_search_requests"],
        row["list_cost_nusd"] or 0,
        row["effective_cost_nusd"] or 0,
    )


def aggregate(rows: Iterable[Mapping[str, Any]]) -> dict[RollupKey, list[int]]:
    deltas: dict[RollupKey, list[int]] = {}
    for row in rows:
        key = rollup_key(row)
        values = measures_of(row)
        current = deltas.get(key)
        if current is None:
            deltas[key] = list(values)
        else:
            for i, value in enumerate(values):
                current[i] += value
    return deltas


def upsert_statement(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def apply_rollup_deltas(conn: Connection, deltas: Mapping[RollupKey, Sequence[int]]) -> None:
    """Add ``deltas`` to the hourly rollup (upsert), in one statement batch."""
    if not deltas:
        return
    rows = []
    for key, values in deltas.items():
        hour = key[0]
        row = {"hour": hour, "day": hour.date()}
        row.update(dict(zip(ROLLUP_DIMENSIONS, key[1:], strict=True)))
        row.update(dict(zip(ROLLUP_MEASURES, values, strict=True)))
        rows.append(row)
    stmt = upsert_statement(conn, rollup_hourly)
    stmt = stmt.on_conflict_do_update(
        index_elements=["hour", *ROLLUP_DIMENSIONS],
        set_={m: rollup_hourly.c[m] + stmt.excluded[m] for m in ROLLUP_MEASURES},
    )
    conn.execute(stmt, rows)


def _sqlite_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _JSON_COLUMNS:
        return json.dumps(value)
    if name == "ts":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def _pg_value(name: str, value: Any) -> Any:
    if value is not None and name in _JSON_COLUMNS:
        return json.dumps(value)
    return value


def _placeholders(conn: Connection) -> tuple[str, str]:
    cols = ", ".join(EVENT_COLUMNS)
    if conn.dialect.name == "postgresql":
        values = ", ".join("%s::json" if name in _JSON_COLUMNS else "%s" for name in EVENT_COLUMNS)
    else:
        values = ", ".join("?" for _ in EVENT_COLUMNS)
    return cols, values


def _insert_sqlite(conn: Connection, rows: dict[str, dict[str, Any]]) -> set[str]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    ids = list(rows)
    existing: set[str] = set()
    for start in range(0, len(ids), _SQLITE_IN_CHUNK):
        chunk = ids[start : start + _SQLITE_IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        cursor.execute(f"SELECT event_id FROM usage_events WHERE event_id IN ({marks})", chunk)
        existing.update(r[0] for r in cursor.fetchall())
    new = [i for i in ids if i not in existing]
    cols, values = _placeholders(conn)
    cursor.executemany(
        f"INSERT INTO usage_events ({cols}) VALUES ({values})",
        [tuple(_sqlite_value(n, rows[i][n]) for n in EVENT_COLUMNS) for i in new],
    )
    cursor.close()
    return set(new)


def _insert_postgres(conn: Connection, rows: dict[str, dict[str, Any]]) -> set[str]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cols, values = _placeholders(conn)
    cursor.executemany(
        f"INSERT INTO usage_events ({cols}) VALUES ({values}) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [tuple(_pg_value(n, row[n]) for n in EVENT_COLUMNS) for row in rows.values()],
        returning=True,
    )
    inserted: set[str] = set()
    while True:
        inserted.update(r[0] for r in cursor.fetchall())
        if not cursor.nextset():
            break
    cursor.close()
    return inserted


def write_events(
    conn: Connection, events: Sequence[UsageEvent], costs: Sequence[Cost] | None = None
) -> WriteResult:
    """Insert events (priced by ``costs`` when given); skip those already recorded;
    roll up only the new ones. Run inside a transaction (``with engine.begin()``).
    """
    if not events:
        return WriteResult(0, 0)
    rows: dict[str, dict[str, Any]] = {}
    for i, event in enumerate(events):
        if event.event_id not in rows:
            rows[event.event_id] = event_row(event, costs[i] if costs is not None else None)
    if conn.dialect.name == "postgresql":
        inserted = _insert_postgres(conn, rows)
    else:
        inserted = _insert_sqlite(conn, rows)
    apply_rollup_deltas(conn, aggregate(rows[i] for i in inserted))
    return WriteResult(inserted=len(inserted), duplicates=len(events) - len(inserted))
