"""The gateway's batch write with its rollups in columns (`write_rows_in_columns`)
leaves the ledger `write_rows` leaves: values, rollups, duplicates, replays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aifinops.ingest.events import price_rows
from aifinops.ledger import column_batch
from aifinops.ledger.column_batch import write_rows_in_columns
from aifinops.ledger.db import open_ledger
from aifinops.ledger.writer import WriteResult, write_rows
from aifinops.pricing import PricingEngine
from aifinops.usage import flat_from_record
from tests.ingest.test_import_spans import RATES, dump, record


def _rows(numbers: list[int]) -> list[dict[str, Any]]:
    rows = [flat_from_record(record(i)) for i in numbers]
    price_rows(PricingEngine(rates=RATES), rows)
    return rows


def _write(engine: Engine, rows: list[dict[str, Any]], in_columns: bool) -> WriteResult:
    with engine.begin() as conn:
        return (write_rows_in_columns if in_columns else write_rows)(conn, rows)


@pytest.fixture(autouse=True)
def _every_batch_in_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_batch, "COLUMNS_FROM", 1)


def test_batches_in_columns_write_what_sql_rollups_write(tmp_path: Path) -> None:
    batches = [
        list(range(0, 100)),
        list(range(50, 180)),  # half recorded already
        list(range(0, 100)),  # a replay: nothing new
        [200, 201, 200, 202, 201],  # the same event twice in one batch
        list(range(300, 301)),
    ]
    sql, columns = (open_ledger(f"sqlite:///{tmp_path / name}.db") for name in ("sql", "cols"))
    for numbers in batches:
        assert _write(columns, _rows(numbers), True) == _write(sql, _rows(numbers), False)
    assert _write(columns, [], True) == WriteResult(inserted=0, duplicates=0)
    assert _write(columns, _rows([400]), True) == _write(sql, _rows([400]), False)
    assert dump(columns) == dump(sql)
    assert len(dump(columns)["usage_events"]) == 185
    sql.dispose()
    columns.dispose()


def test_a_failed_batch_in_columns_leaves_nothing(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    rows = _rows(list(range(10)))
    rows[3]["input_tokens"] = "many"  # not a count: the rollup inputs cannot be made
    with pytest.raises(ValueError):
        _write(engine, rows, True)
    assert all(not rows for rows in dump(engine).values())
    assert _write(engine, _rows(list(range(10))), True).inserted == 10
    engine.dispose()


def test_small_batches_roll_up_in_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below `COLUMNS_FROM` events a batch goes the SQL way (`write_rows`)."""
    monkeypatch.setattr(column_batch, "COLUMNS_FROM", 5)
    used: list[int] = []
    real = column_batch.write_rows
    monkeypatch.setattr(column_batch, "write_rows", lambda c, r: used.append(len(r)) or real(c, r))
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    _write(engine, _rows(list(range(4))), True)
    _write(engine, _rows(list(range(10, 15))), True)
    assert used == [4]
    assert len(dump(engine)["usage_events"]) == 9
    engine.dispose()
