"""Alembic environment: run on a connection handed over by `aifinops.ledger.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through aifinops.ledger.migrate (aifinops db upgrade)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
