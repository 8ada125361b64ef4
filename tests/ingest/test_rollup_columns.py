"""The hourly, daily and waste rollups computed in columns (SQLite imports) write exactly
the rows the SQL rollups write (`aifinops.ledger.writer`), duplicates included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from aifinops.ingest.events import PreparedBatch, prepare
from aifinops.ingest.files import Row
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.ledger.hourly_columns import hourly_rows
from aifinops.ledger.rollup_inputs import INPUT_SCHEMA, span_table
from aifinops.ledger.schema_optimize import INPUT_EDGES, OUTPUT_EDGES
from aifinops.ledger.waste_columns import waste_rows
from aifinops.ledger.writer import SpanWriter
from aifinops.pricing import PricingEngine
from tests.economics.helpers import outcome, write_outcome_records
from tests.ingest.test_import_spans import RATES, dump, record


def _batches(records: list[dict[str, Any]], size: int) -> list[PreparedBatch]:
    pricing = PricingEngine(rates=RATES)
    rows = [Row(i + 1, r) for i, r in enumerate(records)]
    return [
        prepare(rows[i : i + size], converter_for("canonical"), pricing, "sqlite")
        for i in range(0, len(rows), size)
    ]


def _write(engine: Engine, batches: list[PreparedBatch], columns: bool, span: int) -> list[int]:
    """Write ``batches`` in spans of ``span`` batches, with their rollup inputs (the
    columns rollups) or without (the SQL rollups); returns each batch's new events."""
    inserted = []
    with engine.connect() as conn:
        for lo in range(0, len(batches), span):
            conn.begin()
            writer = SpanWriter(conn)
            for batch in batches[lo : lo + span]:
                inputs = batch.inputs if columns else None
                inserted.append(writer.write(batch.params, batch.columns, inputs))
            writer.finish()
            conn.commit()
            writer.close()
    return inserted


def _pair(tmp_path: Path, name: str) -> tuple[Engine, Engine]:
    return (
        open_ledger(f"sqlite:///{tmp_path / f'{name}-columns.db'}"),
        open_ledger(f"sqlite:///{tmp_path / f'{name}-sql.db'}"),
    )


def test_columns_and_sql_write_the_same_rollups(tmp_path: Path) -> None:
    records = [record(i) for i in range(600)]
    records[7:7] = [records[2]]  # a duplicate inside one batch
    records[90:90] = [records[40], records[41]]  # and across batches of one span
    columns, sql = _pair(tmp_path, "ledger")
    for engine in (columns, sql):  # outcomes recorded before their unit's calls count
        write_outcome_records(
            engine,
            [
                outcome("o-1", "u-20", date(2026, 10, 31), True, feature="bot"),
                outcome("o-2", "u-20", date(2026, 10, 31), False, feature="bot"),
            ],
        )
    first = _batches(records, 50)
    assert all(b.inputs is not None and b.inputs.schema == INPUT_SCHEMA for b in first)
    assert _write(columns, first, True, 4) == _write(sql, first, False, 4)
    assert dump(columns) == dump(sql)
    tables = dump(columns)
    outcomes = [r[-1] for r in tables["unit_rollup"] if r[0] == "u-20"]
    assert outcomes == [2]
    assert all(len(tables[t]) > 50 for t in ("rollup_hourly", "waste_rollup", "unit_rollup"))
    assert len(tables["rollup_daily"]) > 10

    # a second file: batches with some events recorded already, some new
    second = _batches([record(i) for i in range(560, 900)], 50)
    counts = _write(columns, second, True, 3)
    assert counts == _write(sql, second, False, 3)
    assert 0 < counts[0] < 50
    assert dump(columns) == dump(sql)

    # a replay adds nothing
    before = dump(columns)
    assert set(_write(columns, first, True, 4)) == {0}
    assert dump(columns) == before
    for engine in (columns, sql):
        engine.dispose()


def test_a_batch_without_inputs_leaves_the_span_to_sql(tmp_path: Path) -> None:
    columns, sql = _pair(tmp_path, "mixed")
    batches = _batches([record(i) for i in range(200)], 40)
    with columns.connect() as conn:
        conn.begin()
        writer = SpanWriter(conn)
        for i, batch in enumerate(batches):
            writer.write(batch.params, batch.columns, None if i == 2 else batch.inputs)
        writer.finish()
        conn.commit()
        writer.close()
    _write(sql, batches, False, len(batches))
    assert dump(columns) == dump(sql)
    for engine in (columns, sql):
        engine.dispose()


def test_no_events_no_rows() -> None:
    empty = span_table([pa.RecordBatch.from_pylist([], schema=INPUT_SCHEMA)])
    assert list(waste_rows(empty)) == [] and list(waste_rows(span_table([]))) == []
    assert [list(rows) for rows in hourly_rows(empty)] == [[], []]


_EDGES = sorted({0, 1, *(e + d for e in (*OUTPUT_EDGES, *INPUT_EDGES) for d in (-1, 0, 1))})
_counts = st.one_of(st.sampled_from(_EDGES), st.integers(0, 300_000))
_maybe = st.one_of(st.none(), st.integers(0, 40_000))


@st.composite
def _records(draw: st.DrawFn) -> list[dict[str, Any]]:
    start = datetime(2026, 10, 31, 23, 50, tzinfo=UTC)
    out = []
    for i in range(draw(st.integers(1, 60))):
        minutes = draw(st.integers(0, 90))
        rec: dict[str, Any] = {
            "event_id": f"e{draw(st.integers(0, 80))}",
            "ts": (
                start + timedelta(minutes=minutes, seconds=draw(st.integers(0, 59)))
            ).isoformat(),
            "provider": draw(st.sampled_from(["anthropic", "openai"])),
            "model": draw(st.sampled_from(["claude-sonnet-4-5", "gpt-4o-mini", "private-x"])),
            "team": draw(st.sampled_from([None, "a", "b"])),
            "feature": draw(st.sampled_from([None, "f", "g"])),
            "prompt_version": draw(st.sampled_from([None, "v1"])),
            "system_hash": draw(st.sampled_from([None, "s1", "s2"])),
            "prefix_hash": draw(st.sampled_from([None, "p1"])),
            "service_tier": draw(st.sampled_from([None, "priority", "flex"])),
            "batch": draw(st.booleans()),
            "stop_reason": draw(st.sampled_from([None, "end_turn", "max_tokens", "length"])),
            "input_tokens": draw(_counts),
            "cache_read_tokens": draw(st.sampled_from([0, 0, 512, 70_000])),
            "cache_write_5m_tokens": draw(st.sampled_from([0, 1, 1023])),
            "output_tokens": draw(_counts),
            "max_tokens": draw(_maybe),
            "system_tokens": draw(_maybe),
            "context_chunks": draw(st.one_of(st.none(), st.integers(0, 40))),
            "customer_id": draw(st.sampled_from([None, "c1", "c2", "C3"])),
            "web_search_requests": draw(st.sampled_from([0, 0, 1, 3])),
            "status": draw(st.sampled_from([None, 200, 399, 400, 529])),
            "error_type": draw(st.sampled_from([None, None, "timeout"])),
            "unit_id": draw(st.sampled_from([None, "u1", "u2", "u3"])),
        }
        rec["reasoning_tokens"] = min(rec["output_tokens"], draw(st.sampled_from([0, 7, 900])))
        out.append({k: v for k, v in rec.items() if v is not None or i % 2})
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=_records(), second=_records(), size=st.integers(1, 25))
def test_any_events_any_batches(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    size: int,
) -> None:
    columns, sql = _pair(tmp_path_factory.mktemp("prop"), "prop")
    for records in (first, second, first):
        batches = _batches(records, size)
        assert _write(columns, batches, True, 2) == _write(sql, batches, False, 2)
        assert dump(columns) == dump(sql)
    for engine in (columns, sql):
        engine.dispose()


def test_rows_come_in_key_order() -> None:
    records = [record(i) for i in range(300)]
    records[0]["team"] = "Zeta"  # upper case sorts before lower case, as in SQLite
    records[1]["team"] = "é-team"  # and non-ASCII after ASCII
    table = span_table([b.inputs for b in _batches(records, 70)])
    hourly, daily = hourly_rows(table)
    for rows, width in ((waste_rows(table), 11), (hourly, 8), (daily, 7)):
        keys = [row[:width] for row in rows]
        assert len(keys) > 30
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)


def test_batches_are_prepared_column_by_column_as_row_by_row() -> None:
    """A SQLite batch's insert rows, made field by field (`transpose_rows`, prices set
    per column, `narrow_values`), are what pricing and `prepare_params` make per row."""
    from aifinops.ingest.events import price_rows
    from aifinops.ledger.writer import narrow_params, prepare_params

    records = [record(i) for i in range(120)]
    records[5]["tags"] = {"env": "prod"}
    records[9]["guardrails"] = ["pii"]
    records[30:30] = [records[12]]  # a duplicate: its first row counts
    convert = converter_for("canonical")
    batch = prepare(
        [Row(i + 1, r) for i, r in enumerate(records)],
        convert,
        PricingEngine(rates=RATES),
        "sqlite",
    )
    rows = [convert(r) for r in records]
    price_rows(PricingEngine(rates=RATES), rows)
    assert (batch.columns, batch.params) == narrow_params(prepare_params(rows, "sqlite"))
    assert batch.valid == 121
    distinct = {r["event_id"]: r for r in reversed(rows)}.values()
    assert batch.unpriced == sum(1 for r in distinct if r["unpriced"]) > 0
