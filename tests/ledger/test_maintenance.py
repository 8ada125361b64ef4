"""Status, backup, prune (rollups stay) and re-pricing (rollups follow)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.ledger.maintenance import BackupError, backup, prune, status
from aifinops.ledger.queries import SpendQuery, spend
from aifinops.ledger.reprice import RepriceError, reprice
from aifinops.ledger.schema import usage_events
from aifinops.ledger.writer import write_rows
from aifinops.pricing import PricingEngine, RateBook
from tests.ledger.helpers import row
from tests.ledger.test_writer import daily, daily_from_hourly

NOV1, NOV3 = date(2026, 11, 1), date(2026, 11, 3)


def fill(engine: Engine, n: int = 30) -> None:
    with engine.begin() as conn:
        write_rows(conn, [row(i) for i in range(n)])


def totals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return spend(conn, SpendQuery(NOV1, NOV3)).totals


def test_status(ledger: Engine) -> None:
    fill(ledger)
    info = status(ledger)
    assert info.events == 30
    assert info.first_day == NOV1 and info.last_day == NOV3
    assert info.revision == info.head
    assert info.as_dict()["first_event"].endswith("Z")


def test_prune_keeps_rollups(ledger: Engine) -> None:
    fill(ledger)
    before = totals(ledger)
    deleted = prune(ledger, date(2026, 11, 3))
    assert deleted == 20  # days 1 and 2
    assert status(ledger).events == 10
    assert status(ledger).pruned_before == date(2026, 11, 3)
    assert totals(ledger) == before


def test_reprice_updates_effective_cost_and_rollups(ledger: Engine) -> None:
    fill(ledger)
    before = totals(ledger)
    rates = RateBook.parse([{"provider": "anthropic", "model": "claude-*", "discount_pct": 10}])
    result = reprice(ledger, PricingEngine(rates=rates), NOV1, date(2026, 11, 2))
    assert result.events == 20 and result.changed == 20
    after = totals(ledger)
    assert after["list_cost_nusd"] == before["list_cost_nusd"]
    assert after["effective_cost_nusd"] < before["effective_cost_nusd"]
    with ledger.connect() as conn:
        rows = conn.execute(select(usage_events)).mappings().all()
    day3 = [r for r in rows if r["ts"].day == 3]
    assert all(r["effective_cost_nusd"] == r["list_cost_nusd"] for r in day3)
    assert sum(r["effective_cost_nusd"] for r in rows) == after["effective_cost_nusd"]
    assert daily(ledger) == daily_from_hourly(ledger)  # the daily rollup followed
    # re-pricing with the list prices again restores everything exactly
    reprice(ledger, PricingEngine(), NOV1, NOV3)
    assert totals(ledger) == before
    assert daily(ledger) == daily_from_hourly(ledger)


def test_reprice_refuses_pruned_days(ledger: Engine) -> None:
    fill(ledger)
    prune(ledger, date(2026, 11, 2))
    with pytest.raises(RepriceError, match="pruned"):
        reprice(ledger, PricingEngine(), NOV1, NOV3)


def test_sqlite_backup(tmp_path: Path) -> None:
    from aifinops.ledger.db import open_ledger

    engine = open_ledger(f"sqlite:///{tmp_path / 'a.db'}")
    fill(engine, 5)
    size = backup(engine, tmp_path / "copy.db")
    assert size > 0
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM usage_events").fetchone() == (5,)
    with pytest.raises(BackupError, match="already exists"):
        backup(engine, tmp_path / "copy.db")


@pytest.mark.postgres
def test_postgres_backup_points_to_pg_dump(pg_base_url: str, pg_schema: str) -> None:
    from aifinops.ledger.db import open_ledger

    engine = open_ledger(pg_base_url, search_path=pg_schema)
    try:
        with pytest.raises(BackupError, match="pg_dump"):
            backup(engine, Path("unused.db"))
    finally:
        engine.dispose()
