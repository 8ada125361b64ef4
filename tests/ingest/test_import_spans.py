"""Imports write several batches per transaction and roll them up once, before the
commit: the ledger ends up exactly as when every batch is its own transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.ingest.events import ImportSummary, Rejection, import_events, import_json_blocks
from aifinops.ingest.files import iter_rows, line_blocks
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import rollup_daily, rollup_hourly, usage_events
from aifinops.ledger.schema_economics import unit_rollup
from aifinops.ledger.schema_optimize import OUTPUT_EDGES, waste_rollup
from aifinops.pricing import PricingEngine, RateBook
from tests.economics.helpers import outcome, write_outcome_records

RATES = RateBook.parse([{"provider": "anthropic", "model": "claude-*", "discount_pct": 5}])
TABLES = (usage_events, rollup_hourly, rollup_daily, unit_rollup, waste_rollup)
#: Output lengths of calls without max_tokens: both sides of every histogram edge.
OUTPUTS = (0, 1, *(e + d for e in OUTPUT_EDGES for d in (-1, 0)), 40_000)


def record(i: int) -> dict[str, Any]:
    """A varied canonical record: every rollup dimension and waste signal, nulls included."""
    start = datetime(2026, 10, 30, 22, tzinfo=UTC)
    ts = start + timedelta(minutes=7 * i + i % 5, seconds=i % 60)  # hours, days, 5-min slots
    unit = i // 4
    has_unit = i % 6 < 4
    k = unit if has_unit else i  # a unit's calls share their attribution
    rec: dict[str, Any] = {
        "event_id": f"ev-{i}",
        "ts": ts.isoformat(),
        "provider": ["anthropic", "openai"][i % 2],
        "model": ["claude-sonnet-4-5", "gpt-4o-mini"][i % 2],
        "team": [None, "support", "sales"][k % 3],
        "feature": ["bot", None, "search", "summary"][k % 4] if k % 11 else None,
        "customer_id": [None, "acme", "globex", "initech", "hooli"][k % 5],
        "prompt_version": [None, "v1", "v2"][k % 3],
        "input_tokens": 100 + 37 * i,
        "cache_read_tokens": (i % 4) * 500,
        "cache_write_5m_tokens": 200 if i % 9 == 0 else 0,
        "cache_write_1h_tokens": 300 if i % 13 == 0 else 0,
        "output_tokens": OUTPUTS[i % len(OUTPUTS)],
        "service_tier": [None, "priority"][i % 7 == 0],
        "batch": i % 10 == 0,
        "stop_reason": ["end_turn", "max_tokens", "length", None][i % 4],
        "system_hash": [None, "sys-a", "sys-b"][i % 3],
        "prefix_hash": [None, "pre-a"][i % 2],
    }
    if i % 3:
        rec["max_tokens"] = 1024
    if has_unit:
        rec["unit_id"] = f"u-{unit}"
    if i % 5:
        rec["system_tokens"] = 50 * (i % 17)
    if i % 4 == 1:
        rec["context_chunks"] = i % 9
    if i % 8 == 3:
        rec["status"] = 529
        rec["error_type"] = "overloaded_error"
    elif i % 8 == 5:
        rec["status"] = 400
    elif i % 8 == 7:
        rec["error_type"] = "timeout"
    if i % 12 == 6:
        rec["model"] = "acme-private-ft-1"  # unpriced
    return rec


def write_file(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key))]
            for t in TABLES
        }


def run_import(engine: Engine, path: Path, span_rows: int) -> ImportSummary:
    rejected: list[Rejection] = []
    with path.open(encoding="utf-8") as stream:
        summary = import_events(
            engine,
            PricingEngine(rates=RATES),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=rejected.append,
            batch_rows=40,
            span_rows=span_rows,
        )
    assert rejected == []
    return summary


@pytest.fixture
def twin(ledger: Engine, ledger_url: tuple[str, str | None], tmp_path: Path) -> Iterator[Engine]:
    """A second fresh ledger on the same backend as ``ledger``."""
    url, schema = ledger_url
    if schema is None:
        engine = open_ledger(f"sqlite:///{tmp_path / 'twin.db'}")
        yield engine
        engine.dispose()
        return
    import psycopg

    other = f"{schema}_twin"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{other}"')
    engine = open_ledger(url, search_path=other)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{other}" CASCADE')


def test_spans_write_what_one_transaction_per_batch_writes(
    ledger: Engine, twin: Engine, tmp_path: Path
) -> None:
    records = [record(i) for i in range(400)]
    # duplicates: inside one batch, across batches of one span, and across spans
    records[5:5] = [records[3]]
    records[60:60] = [records[30], records[31]]
    records.append(records[100])
    first = write_file(tmp_path / "first.jsonl", records)
    # an outcome recorded before its unit's calls is counted when they arrive
    for engine in (ledger, twin):
        write_outcome_records(
            engine,
            [
                outcome("o-early", "u-20", date(2026, 10, 31), True, feature="bot"),
                outcome("o-early-2", "u-20", date(2026, 10, 31), False, feature="bot"),
            ],
        )
    spans = run_import(ledger, first, span_rows=150)
    batches = run_import(twin, first, span_rows=1)
    assert spans == batches
    assert (spans.imported, spans.duplicates) == (400, 4)
    assert dump(ledger) == dump(twin)
    with ledger.connect() as conn:
        counted = conn.execute(
            select(unit_rollup.c.outcomes).where(unit_rollup.c.unit_id == "u-20")
        ).scalar_one()
    assert counted == 2

    # a second file: some events already recorded, some new, some of both in one batch
    more = [record(i) for i in range(350, 700)]
    second = write_file(tmp_path / "second.jsonl", more)
    assert run_import(ledger, second, 150) == run_import(twin, second, 1)
    assert dump(ledger) == dump(twin)

    # re-importing a file adds nothing anywhere
    before = dump(ledger)
    again = run_import(ledger, first, 150)
    assert (again.imported, again.duplicates) == (0, 404)
    assert dump(ledger) == before


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)
def test_postgres_spans_write_what_the_gateways_batch_writes_write(
    ledger: Engine, twin: Engine, tmp_path: Path
) -> None:
    """On PostgreSQL an import's span (`aifinops.ledger.postgres_span`) and the gateway's
    one-statement batch write (`write_params`) leave the same ledger."""
    from aifinops.ingest.events import prepare
    from aifinops.ledger.writer import write_params

    records = [record(i) for i in range(300)]
    records[50:50] = [records[10]]  # a duplicate
    run_import(ledger, write_file(tmp_path / "events.jsonl", records), span_rows=10_000)
    rows = [r for r in iter_rows(iter([json.dumps(x) + "\n" for x in records]), "jsonl")]
    pricing = PricingEngine(rates=RATES)
    for start in range(0, len(rows), 64):
        batch = prepare(rows[start : start + 64], converter_for("canonical"), pricing, "postgresql")
        with twin.begin() as conn:
            write_params(conn, batch.params)
    assert dump(ledger) == dump(twin)


def test_a_failure_rolls_back_the_open_span_only(ledger: Engine, tmp_path: Path) -> None:
    path = write_file(tmp_path / "events.jsonl", [record(i) for i in range(200)])

    def stop_at_third_batch(summary: ImportSummary) -> None:
        if summary.rows > 80:
            raise RuntimeError("interrupted")

    with path.open(encoding="utf-8") as stream, pytest.raises(RuntimeError, match="interrupted"):
        import_events(
            ledger,
            PricingEngine(rates=RATES),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=lambda r: None,
            on_batch=stop_at_third_batch,
            batch_rows=40,
            span_rows=80,
        )
    stored = dump(ledger)
    # the first span (two batches) is committed with its rollups, the third batch is not
    kept = 80
    assert len(stored["usage_events"]) == kept
    calls = rollup_hourly.c.keys().index("calls")
    assert sum(r[calls] for r in stored["rollup_hourly"]) == kept
    # importing the file again completes it
    summary = run_import(ledger, path, 80)
    assert (summary.imported, summary.duplicates) == (200 - kept, kept)


def test_worker_import_uses_spans(tmp_path: Path) -> None:
    path = write_file(tmp_path / "events.jsonl", [record(i) for i in range(300)])
    one = open_ledger(f"sqlite:///{tmp_path / 'one.db'}")
    two = open_ledger(f"sqlite:///{tmp_path / 'two.db'}")
    run_import(one, path, span_rows=1)
    with path.open("rb") as binary:
        summary = import_json_blocks(
            two,
            line_blocks(binary, 40),
            "canonical",
            RATES,
            workers=1,
            on_reject=lambda r: None,
            span_rows=120,
        )
    assert summary.imported == 300
    assert dump(one) == dump(two)
    one.dispose()
    two.dispose()


def test_a_span_keeps_temporary_data_on_disk_and_restores_the_setting(tmp_path: Path) -> None:
    from aifinops.ledger.writer import SpanWriter, prepare_params
    from tests.ledger.helpers import row

    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
        conn.commit()
        conn.begin()
        span = SpanWriter(conn)
        assert span.write(prepare_params([row(1), row(2)], "sqlite")) == 2
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 1  # FILE
        span.finish()
        conn.commit()
        span.close()
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2
        conn.commit()
        # a span begun after other writes of its transaction cannot switch: it keeps MEMORY
        conn.exec_driver_sql("CREATE TEMP TABLE scratch (a)")
        conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
        span = SpanWriter(conn)
        assert span.write(prepare_params([row(3)], "sqlite")) == 1
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2
        span.finish()
        conn.commit()
        span.close()
    engine.dispose()


def test_narrowed_and_whole_rows_write_the_same_ledger(tmp_path: Path) -> None:
    from aifinops.ledger.writer import EVENT_COLUMNS, SpanWriter, narrow_params, prepare_params
    from tests.ledger.helpers import row

    rows = [row(1), row(2, team=None, max_tokens=256), row(3, unit_id="u1"), row(1)]
    whole = prepare_params(rows, "sqlite")
    columns, narrowed = narrow_params(whole)
    assert "max_tokens" in [EVENT_COLUMNS[j] for j in columns]
    assert "system_hash" not in [EVENT_COLUMNS[j] for j in columns]  # null in every row
    assert narrowed == [tuple(p[j] for j in columns) for p in whole]
    engines = []
    for name, args in (("whole", (whole,)), ("narrowed", (narrowed, columns))):
        engine = open_ledger(f"sqlite:///{tmp_path / name}.db")
        with engine.connect() as conn:
            conn.begin()
            span = SpanWriter(conn)
            assert span.write(*args) == 3
            assert span.write(*args) == 0  # a replay adds nothing
            span.finish()
            conn.commit()
            span.close()
        engines.append(engine)
    assert dump(engines[0]) == dump(engines[1])
    for engine in engines:
        engine.dispose()


def test_the_span_mark_is_read_under_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer (a gateway on the same file) cannot slip its events in between the
    span's reading of the largest rowid and its inserts: they would be rolled up twice."""
    import sqlite3

    from aifinops.ledger import writer
    from aifinops.ledger.writer import SpanWriter, prepare_params, write_rows
    from tests.ledger.helpers import row

    db = tmp_path / "ledger.db"
    engine = open_ledger(f"sqlite:///{db}")
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    blocked: list[str] = []
    read_mark = writer._max_rowid

    def racing(cursor: Any) -> int:
        mark = read_mark(cursor)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            blocked.append(str(exc))
        else:
            other.execute("ROLLBACK")
        return mark

    monkeypatch.setattr(writer, "_max_rowid", racing)
    with engine.connect() as conn:
        conn.begin()
        span = SpanWriter(conn)
        span.write(prepare_params([row(1), row(2)], "sqlite"))
        span.finish()
        conn.commit()
        span.close()
    with engine.begin() as conn:
        write_rows(conn, [row(3)])
    other.close()
    assert blocked and all("locked" in b for b in blocked)
    engine.dispose()


def _span_in_parts(
    engine: Engine, blocks: list[tuple[int, bytes]], roll_up_after: tuple[int, ...], inputs: bool
) -> None:
    """Write ``blocks`` in one span as the importer's writer does, rolling the span up
    after the batches ``roll_up_after`` names (as it does while it waits for a batch)."""
    import pickle

    from aifinops.ingest import events
    from aifinops.ledger.writer import SpanWriter

    dialect = engine.dialect.name
    with engine.connect() as conn:
        conn.begin()
        span = SpanWriter(conn)
        for i, (first, data) in enumerate(blocks):
            batch = pickle.loads(
                events.prepare_block_packed(first, data, "canonical", RATES, dialect)
            )
            span.write(batch.params, batch.columns, batch.inputs if inputs else None)
            if i in roll_up_after:
                span.roll_up()
        span.roll_up()  # nothing new since the last: a no-op
        span.finish()
        conn.commit()
        span.close()


@pytest.mark.parametrize("roll_up_after", [(), (0,), (0, 1, 2), (1, 3)])
def test_a_span_rolled_up_in_parts_writes_what_one_roll_up_writes(
    ledger: Engine, twin: Engine, tmp_path: Path, roll_up_after: tuple[int, ...]
) -> None:
    """`SpanWriter.roll_up` mid-span: events counted once, whether a batch repeats events
    rolled up already (all of them, or some beside new ones) or not."""
    _check_roll_up_in_parts(ledger, twin, tmp_path, roll_up_after, inputs=True)


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_span_without_rollup_inputs_rolls_up_in_parts_in_sql(
    ledger: Engine, twin: Engine, tmp_path: Path
) -> None:
    """SQLite batches without rollup inputs: the parts are rolled up in SQL."""
    _check_roll_up_in_parts(ledger, twin, tmp_path, (0, 2), inputs=False)


def _check_roll_up_in_parts(
    ledger: Engine, twin: Engine, tmp_path: Path, roll_up_after: tuple[int, ...], inputs: bool
) -> None:
    records = [record(i) for i in range(200)]
    records[85:85] = records[10:20]  # batch 2: events of batch 0 beside new ones
    records.extend(records[40:80])  # the last batch: only events written before
    path = write_file(tmp_path / "events.jsonl", records)
    lines = path.read_bytes().splitlines(keepends=True)
    blocks = [(1 + i, b"".join(lines[i : i + 40])) for i in range(0, len(lines), 40)]
    assert len(blocks) == 7
    _span_in_parts(ledger, blocks, roll_up_after, inputs)
    run_import(twin, path, span_rows=1)
    assert dump(ledger) == dump(twin)


def test_the_writer_rolls_up_while_its_next_batch_is_not_ready(
    ledger: Engine, twin: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`import_json_blocks` waits for a batch that is not ready by rolling up the open
    span (once it holds `IDLE_ROLLUP_ROWS` events not rolled up); a ready batch is
    written at once. The ledger is the same as without."""
    import threading
    from concurrent.futures import Future

    from aifinops.ingest import events

    monkeypatch.setattr(events, "IDLE_ROLLUP_ROWS", 60)
    path = write_file(tmp_path / "events.jsonl", [record(i) for i in range(240)])
    lines = path.read_bytes().splitlines(keepends=True)
    dialect = ledger.dialect.name
    rolled: list[int] = []
    with events._Writer(ledger, lambda r: pytest.fail(str(r)), None, 10_000) as writer:
        roll_up = writer.use_idle_time

        def use_idle_time() -> None:
            rolled.append(writer._unrolled)
            roll_up()

        monkeypatch.setattr(writer, "use_idle_time", use_idle_time)
        for i in range(0, len(lines), 40):
            packed = events.prepare_block_packed(
                1 + i, b"".join(lines[i : i + 40]), "canonical", RATES, dialect
            )
            future: Future[bytes] = Future()
            if i // 40 in (0, 2, 3, 5):  # not ready yet: the writer waits for these
                threading.Timer(0.05, future.set_result, [packed]).start()
            else:
                future.set_result(packed)
            writer.write(events._next_batch(future, writer))
    # waits before batches 0, 2, 3 and 5, with 0, 80, 40 and 120 events not rolled up:
    # the second and the last roll up (60 or more)
    assert rolled == [0, 80, 40, 120]
    assert writer.summary.imported == 240
    run_import(twin, path, span_rows=1)
    assert dump(ledger) == dump(twin)
