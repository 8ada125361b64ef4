"""`aifinops ledger status|backup|prune` and `aifinops db upgrade|status`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aifinops.cli.app import app
from aifinops.cli.common import fail, ledger_or_exit, settings_or_exit
from aifinops.periods import PeriodError, parse_day

ledger_app = typer.Typer(help="Inspect and maintain the ledger.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(db_app, name="db")

ConfigOption = Annotated[Path | None, typer.Option("--config", help="Config file.")]


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


@ledger_app.command("status")
def status_command(
    output: Annotated[StatusFormat, typer.Option("--format")] = StatusFormat.table,
    config: ConfigOption = None,
) -> None:
    """Events, their date range, rollup rows, schema revision and size."""
    from aifinops.ledger.maintenance import status

    info = status(ledger_or_exit(settings_or_exit(config))).as_dict()
    if output is StatusFormat.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    console = Console(highlight=False)
    for key, value in info.items():
        console.print(f"{key:>14}: {'—' if value is None else value}")


@ledger_app.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="New file to write the copy to.")],
    config: ConfigOption = None,
) -> None:
    """Copy a SQLite ledger to TARGET while it stays in use (PostgreSQL: use pg_dump)."""
    from aifinops.ledger.maintenance import BackupError, backup

    try:
        size = backup(ledger_or_exit(settings_or_exit(config)), target)
    except BackupError as exc:
        fail(str(exc))
    Console(highlight=False).print(f"backed up the ledger to {target} ({size:,} bytes)")


@ledger_app.command("prune")
def prune_command(
    before: Annotated[
        str, typer.Option("--before", help="Delete raw events before this UTC date.")
    ],
    config: ConfigOption = None,
) -> None:
    """Delete raw events past retention; the hourly rollups (and every report) stay."""
    from aifinops.ledger.maintenance import prune

    try:
        day = parse_day("before", before)
    except PeriodError as exc:
        fail(f"--{exc}")
    deleted = prune(ledger_or_exit(settings_or_exit(config)), day)
    Console(highlight=False).print(f"pruned {deleted:,} raw events before {day}; rollups kept")


@db_app.command("upgrade")
def upgrade_command(config: ConfigOption = None) -> None:
    """Create or migrate the ledger schema to the newest revision."""
    from aifinops.ledger import migrate

    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    Console(highlight=False).print(f"ledger at revision {migrate.current_revision(engine)}")


@db_app.command("status")
def db_status_command(config: ConfigOption = None) -> None:
    """The schema revision of the ledger and the newest one this version knows."""
    from aifinops.ledger import migrate
    from aifinops.ledger.db import LedgerURLError, create_ledger_engine

    settings = settings_or_exit(config)
    try:
        engine = create_ledger_engine(settings.database_url)
    except LedgerURLError as exc:
        fail(str(exc))
    current, head = migrate.current_revision(engine), migrate.head_revision()
    state = "up to date" if current == head else "needs `aifinops db upgrade`"
    Console(highlight=False).print(f"revision {current or 'none'} (newest {head}): {state}")
