"""`aifinops import events FILE`: canonical or raw provider records into the ledger."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from aifinops.cli.app import app
from aifinops.cli.common import EXIT_FAILURE, err_console, fail, ledger_or_exit, settings_or_exit
from aifinops.ingest.events import (
    ImportSummary,
    Rejection,
    import_events,
    import_json_lines,
    validate,
)
from aifinops.ingest.files import iter_rows, numbered_lines
from aifinops.ingest.raw import converter_for
from aifinops.pricing import PricingEngine

#: One worker process parses and prices while this one writes: the two stages are about
#: equal, so more workers only help on machines with more cores than two.
DEFAULT_WORKERS = min(max((os.cpu_count() or 1) - 1, 0), 3)

import_app = typer.Typer(help="Import usage into the ledger.", no_args_is_help=True)
app.add_typer(import_app, name="import")


class EventFormat(StrEnum):
    canonical = "canonical"
    openai = "openai"
    anthropic = "anthropic"
    bedrock_log = "bedrock-log"


class _Counter:
    """Counts what was read from a file, for the progress bar."""

    def __init__(self) -> None:
        self.read = 0

    def text(self, stream: IO[str]) -> Iterator[str]:
        for line in stream:
            self.read += len(line)
            yield line

    def lines(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        for number, line in lines:
            self.read += len(line)
            yield number, line


def _file_kind(path: Path, fmt: EventFormat) -> str:
    if fmt is EventFormat.canonical and path.suffix.lower() == ".csv":
        return "csv"
    return "jsonl"


def _spool_stdin() -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
        shutil.copyfileobj(sys.stdin, tmp)
    return Path(tmp.name)


def _report(rejection: Rejection) -> None:
    err_console.print(str(rejection), markup=False)


def _strict_check(path: Path, kind: str, fmt: EventFormat) -> None:
    with path.open(encoding="utf-8", newline="") as stream:
        bad = validate(iter_rows(stream, kind), converter_for(fmt.value), _report)
    if bad:
        err_console.print(f"--strict: {bad} bad rows; nothing was imported", markup=False)
        raise typer.Exit(EXIT_FAILURE)


@import_app.command("events")
def import_events_command(
    file: Annotated[Path, typer.Argument(help="Event file (JSONL or CSV); '-' for stdin.")],
    fmt: Annotated[
        EventFormat,
        typer.Option("--format", help="canonical rows, or raw provider records."),
    ] = EventFormat.canonical,
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row is bad.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="Processes that parse and price JSONL while this one writes (0: none).",
        ),
    ] = DEFAULT_WORKERS,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Import events into the ledger, priced, idempotent on event_id.

    A bad row is reported on stderr with its line number, field and reason; good rows are
    still imported (unless --strict) and the command exits 1. Replaying a file adds
    nothing: its events are counted as duplicates skipped.
    """
    settings = settings_or_exit(config)
    source = file
    if str(file) == "-":
        source = _spool_stdin()
    elif not file.exists():
        fail(f"FILE: {file} does not exist; give the path of an event file")
    kind = _file_kind(source, fmt)
    if strict:
        _strict_check(source, kind, fmt)
    db = ledger_or_exit(settings)
    size = max(source.stat().st_size, 1)
    with _progress() as progress:
        task = progress.add_task("importing", total=size)
        counted = _Counter()

        def advance(summary: ImportSummary) -> None:
            progress.update(task, completed=counted.read, description=f"{summary.rows:,} rows")

        if kind == "jsonl" and workers > 0:
            with source.open("rb") as binary:
                summary = import_json_lines(
                    db,
                    counted.lines(numbered_lines(binary)),
                    fmt.value,
                    settings.rates,
                    workers=workers,
                    on_reject=_report,
                    on_batch=advance,
                )
        else:
            with source.open(encoding="utf-8", newline="") as stream:
                summary = import_events(
                    db,
                    PricingEngine(rates=settings.rates),
                    iter_rows(counted.text(stream), kind),
                    converter_for(fmt.value),
                    on_reject=_report,
                    on_batch=advance,
                )
    Console(highlight=False).print(
        f"imported {summary.imported:,}, duplicates skipped {summary.duplicates:,}, "
        f"rejected {summary.rejected:,} ({summary.unpriced:,} unpriced)"
    )
    if summary.rejected:
        raise typer.Exit(EXIT_FAILURE)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
