"""Migrations: Alembic scripts shipped in the package, run on a live connection.

Alembic (and Mako under it) takes a tenth of a second to import, so it is imported only
when a revision is read through it or a migration runs. `at_head` answers the common
question (is this ledger already migrated?) with one SQL query and no Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, select, table
from sqlalchemy.engine import Engine
from sqlalchemy.sql import column

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"

#: Alembic's own version table (its default name; env.py does not change it).
_VERSION_TABLE = table("alembic_version", column("version_num"))


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def shipped_head() -> str:
    """The head revision read from the script names alone (``NNNN_name.py`` holds revision
    ``NNNN``); tests/ledger holds it equal to Alembic's `head_revision`."""
    return max(path.name.split("_", 1)[0] for path in VERSIONS.glob("[0-9]*_*.py"))


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def at_head(engine: Engine) -> bool:
    """True when the ledger's version table holds exactly the shipped head, read as
    Alembic reads it; anything else (no table, an older revision, several rows) is
    False and left to Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE.name):
            return False
        rows = conn.execute(select(_VERSION_TABLE.c.version_num)).scalars().all()
    return list(rows) == [shipped_head()]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
