"""Several writers at once (gateway workers' writer children, an import, the API) on one
ledger: each batch is all in or all out, nothing is counted twice or lost, and the
rollups equal the aggregate of the raw events, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine

from aifinops.ledger.column_batch import COLUMNS_FROM, write_rows_in_columns
from aifinops.ledger.schema import rollup_hourly, usage_events
from aifinops.ledger.schema_economics import unit_rollup
from aifinops.ledger.schema_optimize import waste_rollup
from aifinops.ledger.writer import write_rows
from tests.ledger.helpers import row
from tests.ledger.test_writer import expected_rollups, rollups

WRITERS = 6
BATCHES = 8


def batch(writer: int, number: int, size: int) -> list[dict[str, Any]]:
    """Events of two hours and a few teams and customers, so the writers' batches upsert
    the same rollup rows, each in its own order."""
    rng = random.Random(writer * 1_000 + number)
    rows = [
        row(
            rng.randrange(1_000),
            event_id=f"w{writer}-b{number}-{k}",
            ts=f"2026-11-01T1{rng.randrange(2)}:{rng.randrange(60):02d}:00Z",
            team=rng.choice(["support", "sales", "success"]),
            customer_id=f"c{rng.randrange(12)}",
            unit_id=f"u{rng.randrange(40)}",
        )
        for k in range(size)
    ]
    rng.shuffle(rows)
    return rows


def test_concurrent_batches_add_up(ledger: Engine) -> None:
    written: list[dict[str, Any]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def write(writer: int) -> None:
        for number in range(BATCHES):
            # one writer sends batches big enough for the gateway's column rollups
            size = COLUMNS_FROM if writer == 0 else 60
            rows = batch(writer, number, size)
            try:
                with ledger.begin() as conn:
                    result = (write_rows_in_columns if writer == 0 else write_rows)(conn, rows)
                assert result.inserted == size
            except BaseException as exc:  # reported by the assertion below
                failures.append(exc)
                return
            with lock:
                written.extend(rows)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(written) == COLUMNS_FROM * BATCHES + 60 * BATCHES * (WRITERS - 1)
    assert rollups(ledger) == expected_rollups(written)
    with ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == len(written)
        assert conn.execute(select(func.sum(unit_rollup.c.calls))).scalar() == len(written)


def _wait_until_blocked(ledger: Engine, pid: list[int]) -> None:
    """Until the batch's PostgreSQL backend waits for a lock (SQLite: a moment, in which
    the batch waits for the ledger's write lock)."""
    if ledger.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    with ledger.connect() as conn:
        while time.monotonic() < deadline:
            waiting = (
                pid
                and conn.execute(
                    text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                    {"pid": pid[0]},
                ).scalar()
            )
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the batch never waited for the rows held")


def test_a_batch_and_a_writer_in_the_span_order_do_not_deadlock(ledger: Engine) -> None:
    """A writer holds rollup rows in an import span's order (hourly first, waste last)
    while a gateway batch writes an event of the same keys: both commit. On PostgreSQL the
    batch's one statement upserted waste first, and the two deadlocked."""
    with ledger.begin() as conn:
        write_rows(conn, [row(1, event_id="first")])
    failures: list[BaseException] = []
    pid: list[int] = []

    def gateway_batch() -> None:
        try:
            with ledger.begin() as conn:
                if conn.dialect.name == "postgresql":
                    pid.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                write_rows(conn, [row(1, event_id="second")])
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    holder = ledger.connect()
    try:
        with holder.begin():
            holder.execute(update(rollup_hourly).values(calls=rollup_hourly.c.calls))
            thread = threading.Thread(target=gateway_batch)
            thread.start()
            _wait_until_blocked(ledger, pid)
            holder.execute(update(waste_rollup).values(calls=waste_rollup.c.calls))
        thread.join(30)
    finally:
        holder.close()
    assert failures == []
    both = [row(1, event_id="first"), row(1, event_id="second")]
    assert rollups(ledger) == expected_rollups(both)
