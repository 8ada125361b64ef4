"""Helpers shared by the command modules: settings, errors, exit codes.

The command modules are all imported to build `aifinops --help`, so each imports what a
command needs (the ledger, pricing, the simulator …) inside that command, and only
Typer, Rich, the standard library and light modules of its own at the top.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from aifinops.periods import PeriodError, resolve_range

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from aifinops.settings import Settings

EXIT_FAILURE = 1  # the command ran and found a failure (a rejected row, a failed gate)
EXIT_USAGE = 2  # bad usage
EXIT_NO_DATA = 3  # not enough data to decide

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings_or_exit(config: Path | None) -> Settings:
    from aifinops.settings import ConfigError, load_settings

    try:
        return load_settings(config_path=config)
    except ConfigError as exc:
        fail(f"{exc}\nFix the config file (or AIFINOPS_CONFIG) and run the command again.")


def ledger_or_exit(settings: Settings) -> Engine:
    """Open (create or migrate) the ledger named by the settings, or exit with the fix."""
    from sqlalchemy.exc import OperationalError

    from aifinops.ledger.db import LedgerURLError, open_ledger

    try:
        return open_ledger(settings.database_url)
    except LedgerURLError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(
            f"cannot open the ledger at {settings.database_url}: {exc.orig}\n"
            "Check AIFINOPS_DATABASE_URL (and that the database server is running)."
        )


def ledger_dialect_or_exit(settings: Settings) -> str:
    """The dialect of the ledger the settings name (``sqlite`` or ``postgresql``),
    without opening it, or exit with the fix."""
    from aifinops.ledger.db import LedgerURLError, normalise_url

    try:
        return normalise_url(settings.database_url).get_backend_name()
    except LedgerURLError as exc:
        fail(str(exc))


def range_or_exit(start: str | None, end: str | None, month: str | None) -> tuple[date, date]:
    try:
        return resolve_range(start, end, month)
    except PeriodError as exc:
        fail(f"--{exc}")
