"""A batch's rows handed to the SQLite writer as a database image, not Python objects.

An import's worker process puts the rows of its batch into an in-memory SQLite database
and hands the writer that database's image (`sqlite3.Connection.serialize`, one bytes
object). The writer attaches the image to its connection (``deserialize`` into an
attached in-memory schema) and inserts from it with one ``INSERT … SELECT``: SQLite
copies the values table to table in C. Handing over tuples instead made the writer
unpickle ≈ 130,000 Python objects a batch and bind each value again, ≈ 14 µs an event of
its ≈ 25 (docs/benchmarks.md, "Batches as database images"); the worker, which has CPU to
spare, does the binding once instead.

The stored values are the ones binding the rows directly would store: the staging
table's columns have no declared type, so its values keep their Python types, and the
insert applies the ledger columns' affinities as a bound insert does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aifinops.ledger.schema import usage_events

EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in usage_events.columns)
#: The schema name the writer attaches images under, and the table they hold.
STAGE_SCHEMA = "aifinops_stage"
_TABLE = "staged_events"


@dataclass(frozen=True, slots=True)
class StagedRows:
    """The rows of a batch, cut to ``columns`` (indexes into `EVENT_COLUMNS`), as the
    image of an in-memory SQLite database holding them in table ``staged_events``."""

    columns: tuple[int, ...]
    rows: int
    image: bytes

    def __len__(self) -> int:
        return self.rows


def can_stage() -> bool:
    """Whether this Python's sqlite3 can serialise databases (SQLite ≥ 3.23 built with
    deserialize support, the default since 3.36)."""
    return hasattr(sqlite3.Connection, "serialize") and hasattr(sqlite3.Connection, "deserialize")


def _names(columns: Sequence[int]) -> str:
    return ", ".join(EVENT_COLUMNS[j] for j in columns)


def stage_rows(columns: Sequence[int], params: Sequence[tuple[Any, ...]]) -> StagedRows:
    """The image of an in-memory database holding ``params`` (rows of ``columns``)."""
    names = _names(columns)
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE TABLE {_TABLE} ({names})")
        marks = ", ".join("?" for _ in columns)
        conn.executemany(f"INSERT INTO {_TABLE} ({names}) VALUES ({marks})", params)
        conn.commit()
        image = conn.serialize()
    finally:
        conn.close()
    return StagedRows(tuple(columns), len(params), image)


def staged_params(staged: StagedRows) -> list[tuple[Any, ...]]:
    """The rows of an image back as tuples, in their order."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(staged.image)
        return conn.execute(
            f"SELECT {_names(staged.columns)} FROM {_TABLE} ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


def attach_stage(cursor: Any) -> None:
    """Attach the in-memory schema images are loaded into, unless attached already."""
    cursor.execute("SELECT 1 FROM pragma_database_list WHERE name = ?", (STAGE_SCHEMA,))
    if cursor.fetchone() is None:
        cursor.execute(f"ATTACH DATABASE ':memory:' AS {STAGE_SCHEMA}")


def detach_stage(cursor: Any) -> None:
    """Detach the schema `attach_stage` attached (outside any transaction)."""
    cursor.execute("SELECT 1 FROM pragma_database_list WHERE name = ?", (STAGE_SCHEMA,))
    if cursor.fetchone() is not None:
        cursor.execute(f"DETACH DATABASE {STAGE_SCHEMA}")


def insert_staged(cursor: Any, staged: StagedRows) -> int:
    """Insert the image's events not recorded yet, in the image's row order; returns how
    many were new. Run inside the write transaction, after `attach_stage`."""
    cursor.connection.deserialize(staged.image, name=STAGE_SCHEMA)
    names = _names(staged.columns)
    cursor.execute(
        f"INSERT INTO usage_events ({names}) SELECT {names} FROM {STAGE_SCHEMA}.{_TABLE} "
        "WHERE true ORDER BY rowid ON CONFLICT (event_id) DO NOTHING"
    )
    return int(cursor.rowcount)
