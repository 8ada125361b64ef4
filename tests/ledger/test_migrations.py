"""Migrations: a blank database reaches head on SQLite and PostgreSQL with the same schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from aifinops.ledger import migrate
from aifinops.ledger.db import LedgerURLError, create_ledger_engine, normalise_url, open_ledger
from aifinops.ledger.schema import metadata


def describe(engine: Engine) -> dict[str, Any]:
    """Tables, columns (name, generic type, nullability), primary keys and indexes."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        out[table] = {
            "columns": [
                (
                    c["name"],
                    type(c["type"])
                    .__mro__[0]
                    .__name__.upper()
                    .replace("BIGINT", "BIGINTEGER")
                    .replace("TIMESTAMP", "DATETIME")
                    .replace("VARCHAR", "STRING"),
                    c["nullable"],
                )
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table)
            ),
        }
    return out


def assert_matches_code(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"migrations and ledger/schema.py differ: {diff}"


def test_sqlite_blank_to_head(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert_matches_code(engine)
    # running it again is a no-op
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # a big import's WAL is cut back once checkpointed, even while connections stay
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == 64 << 20


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert "usage_events" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert_matches_code(engine)


def test_script_names_give_alembics_head() -> None:
    assert migrate.shipped_head() == migrate.head_revision(), (
        "name the newest script in ledger/migrations/versions NNNN_name.py, NNNN its revision"
    )


def test_at_head_only_for_a_ledger_at_the_shipped_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert not migrate.at_head(create_ledger_engine(url))  # blank: no version table
    engine = open_ledger(url)
    assert migrate.at_head(engine)
    migrate.downgrade(engine, "0010")
    assert not migrate.at_head(engine)
    with engine.begin() as conn:  # two rows, as Alembic leaves unmerged branches
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('0011')")
    assert not migrate.at_head(engine)


OPEN_AND_REPORT = (
    "import sys; from aifinops.ledger import migrate; from aifinops.ledger.db import open_ledger; "
    "engine = open_ledger(sys.argv[1]); "
    "print(migrate.current_revision(engine) if 'alembic' in sys.modules else 'no alembic')"
)


def test_opening_a_migrated_ledger_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = open_ledger(url)

    def open_in_a_new_process() -> str:
        cmd = [sys.executable, "-c", OPEN_AND_REPORT, url]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    assert open_in_a_new_process() == "no alembic"
    migrate.downgrade(engine, "0009")  # an older ledger is still migrated, through Alembic
    engine.dispose()
    assert open_in_a_new_process() == migrate.head_revision()


@pytest.mark.postgres
def test_postgres_schema_equals_sqlite(tmp_path: Path, pg_base_url: str, pg_schema: str) -> None:
    pg = open_ledger(pg_base_url, search_path=pg_schema)
    try:
        assert migrate.current_revision(pg) == migrate.head_revision()
        assert migrate.at_head(pg)
        assert_matches_code(pg)
        lite = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        assert describe(pg) == describe(lite)
    finally:
        pg.dispose()


@pytest.mark.parametrize(
    ("url", "words"),
    [("mysql://root@localhost/x", "not supported"), ("not a url", "not a database URL")],
)
def test_bad_urls_name_the_setting(url: str, words: str) -> None:
    with pytest.raises(LedgerURLError) as info:
        create_ledger_engine(url)
    assert "AIFINOPS_DATABASE_URL" in str(info.value) and words in str(info.value)


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_daily_rollup_is_backfilled_from_hourly(tmp_path: Path) -> None:
    from aifinops.ledger.writer import write_rows
    from tests.ledger.helpers import row
    from tests.ledger.test_writer import daily, daily_from_hourly

    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with engine.begin() as conn:
        write_rows(conn, [row(i) for i in range(40)])
    migrate.downgrade(engine, "0004")  # a ledger from before the daily rollup
    assert "rollup_daily" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert daily(engine) == daily_from_hourly(engine)
    assert sum(v["calls"] for v in daily(engine).values()) == 40
