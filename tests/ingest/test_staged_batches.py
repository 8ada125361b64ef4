"""An import's worker hands the SQLite writer its batch's rows as a database image
(`aifinops.ledger.staged`): the ledger holds exactly what binding the rows would store."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aifinops.ingest import events
from aifinops.ingest.events import import_json_blocks
from aifinops.ingest.files import line_blocks
from aifinops.ledger.db import open_ledger
from aifinops.ledger.staged import STAGE_SCHEMA, StagedRows, stage_rows, staged_params
from aifinops.ledger.writer import SpanWriter, narrow_params, prepare_params
from tests.ingest.test_import_spans import RATES, TABLES, record, run_import, write_file
from tests.ledger.helpers import row


def raw_dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows with each value's SQLite storage class beside it."""
    conn = sqlite3.connect(path)
    try:
        dumped = {}
        for table in TABLES:
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")]
            cells = ", ".join(f"{n}, typeof({n})" for n in names)
            dumped[table.name] = conn.execute(
                f"SELECT {cells} FROM {table.name} ORDER BY {', '.join(names)}"
            ).fetchall()
        return dumped
    finally:
        conn.close()


def worker_import(engine: Engine, path: Path, span_rows: int) -> events.ImportSummary:
    with path.open("rb") as binary:
        return import_json_blocks(
            engine,
            line_blocks(binary, 40),
            "canonical",
            RATES,
            workers=1,
            on_reject=lambda r: pytest.fail(f"rejected: {r}"),
            span_rows=span_rows,
        )


def test_an_image_holds_the_rows_as_given() -> None:
    rows = [row(1), row(2, team=None, max_tokens=256), row(3, unit_id="u1")]
    columns, params = narrow_params(prepare_params(rows, "sqlite"))
    staged = stage_rows(columns, params)
    assert len(staged) == 3
    assert staged_params(staged) == params
    assert pickle.loads(pickle.dumps(staged)) == staged


def test_images_write_what_bound_rows_write(tmp_path: Path) -> None:
    """Values, storage classes, rollups; a replay and a batch of old and new events."""
    rows = [row(1), row(2, team=None, max_tokens=256), row(3, unit_id="u1"), row(4)]
    columns, params = narrow_params(prepare_params(rows, "sqlite"))
    later = narrow_params(prepare_params([row(4), row(5, unit_id="u1"), row(6)], "sqlite"))
    paths = []
    for name, staged in (("bound", False), ("staged", True)):
        path = tmp_path / f"{name}.db"
        engine = open_ledger(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.begin()
            span = SpanWriter(conn)
            for cols, batch, new in ((columns, params, 4), (columns, params, 0), (*later, 2)):
                given: Any = stage_rows(cols, batch) if staged else batch
                assert span.write(given, cols) == new
            span.finish()
            conn.commit()
            span.close()
            databases = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
            assert STAGE_SCHEMA not in databases  # detached when the span closes
        engine.dispose()
        paths.append(path)
    assert raw_dump(paths[0]) == raw_dump(paths[1])


def test_worker_imports_write_what_in_process_imports_write(tmp_path: Path) -> None:
    records = [record(i) for i in range(300)]
    records[5:5] = [records[3]]  # a duplicate inside a batch
    records[60:60] = [records[30], records[31]]  # and across batches
    first = write_file(tmp_path / "first.jsonl", records)
    second = write_file(tmp_path / "second.jsonl", [record(i) for i in range(250, 420)])
    paths = {name: tmp_path / f"{name}.db" for name in ("one", "two")}
    one, two = (open_ledger(f"sqlite:///{p}") for p in paths.values())
    assert worker_import(two, first, 120) == run_import(one, first, 120)
    # some events of the second file's batches are recorded already, some are new
    assert worker_import(two, second, 120) == run_import(one, second, 120)
    again = worker_import(two, first, 120)
    assert (again.imported, again.duplicates) == (0, 303)
    one.dispose()
    two.dispose()
    assert raw_dump(paths["one"]) == raw_dump(paths["two"])


def test_workers_stage_sqlite_batches_only(monkeypatch: pytest.MonkeyPatch) -> None:
    data = "".join(json.dumps(record(i)) + "\n" for i in range(5)).encode()

    def batch(dialect: str) -> Any:
        return pickle.loads(events.prepare_block_packed(1, data, "canonical", RATES, dialect))

    assert isinstance(batch("sqlite").params, StagedRows)
    assert isinstance(batch("postgresql").params, list)
    monkeypatch.setattr(events, "can_stage", lambda: False)  # a sqlite3 without serialize
    assert isinstance(batch("sqlite").params, list)


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)
def test_postgresql_refuses_images(ledger: Engine) -> None:
    columns, params = narrow_params(prepare_params([row(1)], "sqlite"))
    with ledger.connect() as conn:
        span = SpanWriter(conn)
        with pytest.raises(ValueError, match="for SQLite"):
            span.write(stage_rows(columns, params))
