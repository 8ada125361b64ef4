"""`aifinops import evals`: offline eval scores per feature, model and prompt version."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aifinops.cli.common import (
    EXIT_FAILURE,
    err_console,
    fail,
    ledger_or_exit,
    settings_or_exit,
)
from aifinops.cli.importer import import_app


class EvalFormat(StrEnum):
    csv = "csv"
    json = "json"


@import_app.command("evals")
def import_evals_command(
    file: Annotated[Path, typer.Argument(help="Eval file: CSV (.csv), JSON array or JSONL.")],
    file_format: Annotated[
        EvalFormat | None,
        typer.Option("--format", help="File format (default: csv for .csv files, else json)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row is bad.")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Import offline eval scores, idempotent on (feature, model, prompt_version, metric, date).

    Fields: feature (or task), model, score (0-1), sample_size, and optionally
    prompt_version, metric and date (or run_date, YYYY-MM-DD). A bad row is reported on
    stderr with its line number, field and fix; good rows are still imported (unless
    --strict) and the command exits 1. The waste detectors and routing read these scores.
    """
    from aifinops.optimize.evals import parse_eval_rows, read_eval_file, write_evals

    if not file.exists():
        fail(f"FILE: {file} does not exist; give the path of an eval file (CSV or JSON)")
    try:
        rows = read_eval_file(file, file_format.value if file_format else None)
    except UnicodeDecodeError:
        fail(f"FILE: {file} is not UTF-8 text; save it as UTF-8 CSV or JSON")
    records, errors = parse_eval_rows(rows, file.name)
    for error in errors:
        err_console.print(str(error), markup=False)
    if strict and errors:
        err_console.print(f"--strict: {len(errors)} bad rows; nothing was imported", markup=False)
        raise typer.Exit(EXIT_FAILURE)
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    imported, duplicates = write_evals(db, records, file.name)
    Console(highlight=False).print(
        f"imported {imported:,}, duplicates skipped {duplicates:,}, rejected {len(errors):,}"
    )
    if errors:
        raise typer.Exit(EXIT_FAILURE)
