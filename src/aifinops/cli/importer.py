"""`aifinops import events FILE`: canonical or raw provider records into the ledger."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_FAILURE,
    err_console,
    fail,
    ledger_dialect_or_exit,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.cli.fast_exit import exit_fast_when_done
from aifinops.ingest.raw import converter_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from aifinops.ingest.events import ImportSummary
    from aifinops.ingest.files import Rejection
    from aifinops.settings import Settings

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

    def blocks(self, blocks: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        for first, data in blocks:
            self.read += len(data)
            yield first, data


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
    from aifinops.ingest.events import validate
    from aifinops.ingest.files import iter_rows

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
    if str(file) == "-":
        spooled = _spool_stdin()
        try:
            summary = _import_file(spooled, fmt, strict, workers, settings)
        finally:
            spooled.unlink(missing_ok=True)
    elif not file.exists():
        fail(f"FILE: {file} does not exist; give the path of an event file")
    else:
        summary = _import_file(file, fmt, strict, workers, settings)
    Console(highlight=False).print(
        f"imported {summary.imported:,}, duplicates skipped {summary.duplicates:,}, "
        f"rejected {summary.rejected:,} ({summary.unpriced:,} unpriced)"
    )
    exit_fast_when_done()  # the ledger is closed: nothing is left for the teardown to do
    if summary.rejected:
        raise typer.Exit(EXIT_FAILURE)


def _import_file(
    source: Path, fmt: EventFormat, strict: bool, workers: int, settings: Settings
) -> ImportSummary:
    """Import one file into the ledger, which is closed again at the end."""
    from aifinops.ingest.events import BATCH_ROWS, import_events, import_json_blocks
    from aifinops.ingest.files import iter_rows, line_blocks
    from aifinops.pricing import PricingEngine

    kind = _file_kind(source, fmt)
    if strict:
        _strict_check(source, kind, fmt)
    size = max(source.stat().st_size, 1)
    opened: list[Engine] = []
    with _progress() as progress:
        task = progress.add_task("importing", total=size)
        counted = _Counter()

        def advance(summary: ImportSummary) -> None:
            progress.update(task, completed=counted.read, description=f"{summary.rows:,} rows")

        try:
            if kind == "jsonl" and workers > 0:
                dialect = ledger_dialect_or_exit(settings)

                def open_ledger() -> Engine:
                    opened.append(ledger_or_exit(settings))
                    return opened[-1]

                with source.open("rb") as binary:
                    # the ledger is opened (a fresh one migrated) while the workers start
                    return import_json_blocks(
                        open_ledger,
                        counted.blocks(line_blocks(binary, BATCH_ROWS)),
                        fmt.value,
                        settings.rates,
                        workers=workers,
                        on_reject=_report,
                        on_batch=advance,
                        dialect=dialect,
                    )
            opened.append(ledger_or_exit(settings))
            with source.open(encoding="utf-8", newline="") as stream:
                return import_events(
                    opened[0],
                    PricingEngine(rates=settings.rates),
                    iter_rows(counted.text(stream), kind),
                    converter_for(fmt.value),
                    on_reject=_report,
                    on_batch=advance,
                )
        finally:
            for engine in opened:
                engine.dispose()  # closed (SQLite: the WAL checkpointed) before the exit


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


# --- provider reports and Bedrock logs ---------------------------------------------------


class BucketWidth(StrEnum):
    day = "1d"
    hour = "1h"


def _print_problem(seen: set[str], problem: object) -> None:
    text = str(problem)
    if text not in seen:
        seen.add(text)
        err_console.print(text, markup=False)


def _pull_provider(
    provider: str,
    start: str,
    end: str,
    bucket: BucketWidth,
    resume: bool,
    config: Path | None,
) -> None:
    from aifinops.ingest import anthropic_admin, openai_admin
    from aifinops.ingest.provider_store import pull_report
    from aifinops.pricing import PricingEngine

    lo, hi = range_or_exit(start, end, None)
    settings = settings_or_exit(config)
    reports = settings.reports
    module = anthropic_admin if provider == "anthropic" else openai_admin
    key = (
        reports.anthropic_admin_api_key if provider == "anthropic" else reports.openai_admin_api_key
    )
    base = (
        reports.anthropic_admin_base_url
        if provider == "anthropic"
        else reports.openai_admin_base_url
    )
    if not key:
        env = "ANTHROPIC_ADMIN_API_KEY" if provider == "anthropic" else "OPENAI_ADMIN_API_KEY"
        fail(f"{env} is not set; create an Admin key in the {provider} console and export it")
    db = ledger_or_exit(settings)
    pricing = PricingEngine(rates=settings.rates)

    def known(prov: str, model: str) -> bool:
        return pricing.plan(prov, model, None, False) is not None

    client = module.make_client(base, key)
    seen: set[str] = set()
    failed = False
    for spec in module.report_specs(bucket.value, known):
        result = pull_report(
            db, client, spec, lo, hi, resume=resume, on_problem=lambda p: _print_problem(seen, p)
        )
        skipped = f", {result.days_skipped} already complete" if result.days_skipped else ""
        Console(highlight=False, soft_wrap=True).print(
            f"{spec.source}: {result.days_done} days stored{skipped}, {result.rows:,} rows, "
            f"{result.duplicates:,} repeated rows merged, {result.rejected:,} rejected"
        )
        if result.error:
            err_console.print(
                f"{spec.source}: {result.error}\nDays stored so far are kept; run again "
                "with --resume to pull only the rest.",
                markup=False,
            )
        failed = failed or not result.ok or result.rejected > 0
    if failed:
        raise typer.Exit(EXIT_FAILURE)


_FROM = typer.Option("--from", help="First UTC date, YYYY-MM-DD (or today).")
_TO = typer.Option("--to", help="Last UTC date, inclusive.")
_BUCKET = typer.Option("--bucket-width", help="Usage bucket: 1d or 1h (costs are always 1d).")
_RESUME = typer.Option("--resume", help="Skip days a previous pull completed.")
_CONFIG = typer.Option("--config", help="Config file.")


@import_app.command("anthropic")
def import_anthropic_command(
    start: Annotated[str, _FROM],
    end: Annotated[str, _TO],
    bucket: Annotated[BucketWidth, _BUCKET] = BucketWidth.day,
    resume: Annotated[bool, _RESUME] = False,
    config: Annotated[Path | None, _CONFIG] = None,
) -> None:
    """Pull Anthropic's usage report and cost report (Admin API) for the days given.

    Needs ANTHROPIC_ADMIN_API_KEY. Each day is replaced as a whole, so pulling a day
    again never doubles it. Rows that cannot be read are reported and the command exits 1.
    """
    _pull_provider("anthropic", start, end, bucket, resume, config)


@import_app.command("openai")
def import_openai_command(
    start: Annotated[str, _FROM],
    end: Annotated[str, _TO],
    bucket: Annotated[BucketWidth, _BUCKET] = BucketWidth.day,
    resume: Annotated[bool, _RESUME] = False,
    config: Annotated[Path | None, _CONFIG] = None,
) -> None:
    """Pull OpenAI's completions and embeddings usage and the costs report (Admin API).

    Needs OPENAI_ADMIN_API_KEY. Each day is replaced as a whole, so pulling a day again
    never doubles it. Rows that cannot be read are reported and the command exits 1.
    """
    _pull_provider("openai", start, end, bucket, resume, config)


@import_app.command("bedrock-logs")
def import_bedrock_logs_command(
    directory: Annotated[
        Path, typer.Argument(help="Directory of invocation logs (S3 layout), or one file.")
    ],
    config: Annotated[Path | None, _CONFIG] = None,
) -> None:
    """Import Bedrock model-invocation logs (*.json.gz, *.json) as ledger events.

    Attribution comes from requestMetadata (team, feature, customer_id, prompt_version,
    unit_id; other keys become tags). Re-importing adds nothing. A file cut short is
    read up to its last complete record and reported; the command then exits 1.
    """
    from aifinops.ingest.bedrock_logs import import_log_directory
    from aifinops.pricing import PricingEngine

    if not directory.exists():
        fail(f"DIRECTORY: {directory} does not exist; sync the S3 log prefix there first")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    summary = import_log_directory(
        db,
        PricingEngine(rates=settings.rates),
        directory,
        on_problem=lambda p: err_console.print(str(p), markup=False),
    )
    Console(highlight=False, soft_wrap=True).print(
        f"{summary.files:,} files, {summary.records:,} records: imported {summary.imported:,}, "
        f"duplicates skipped {summary.duplicates:,}, rejected {summary.rejected:,} "
        f"({summary.unpriced:,} unpriced), files cut short {summary.truncated_files:,}"
    )
    if summary.rejected or summary.truncated_files:
        raise typer.Exit(EXIT_FAILURE)


@import_app.command("bedrock-cur")
def import_bedrock_cur_command(
    file: Annotated[Path, typer.Argument(help="CUR 2.0 export: CSV, .csv.gz or .parquet.")],
    config: Annotated[Path | None, _CONFIG] = None,
) -> None:
    """Import the Bedrock line items of an AWS CUR 2.0 file as provider costs.

    Costs by usage type (model and token kind); every day in the file replaces that
    day's Bedrock CUR costs. CSV (optionally gzipped) or Parquet, as Data Exports
    writes them.
    """
    from aifinops.ingest.bedrock_cur import CurFileError, import_cur_file

    if not file.exists():
        fail(f"FILE: {file} does not exist; give the path of a CUR 2.0 export")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    try:
        summary = import_cur_file(
            db, file, on_problem=lambda p: err_console.print(str(p), markup=False)
        )
    except CurFileError as exc:
        fail(str(exc))
    first = summary.days[0].isoformat() if summary.days else "-"
    last = summary.days[-1].isoformat() if summary.days else "-"
    Console(highlight=False, soft_wrap=True).print(
        f"{summary.rows:,} rows: {summary.bedrock_rows:,} Bedrock ({summary.stored:,} cost rows "
        f"stored for {len(summary.days)} days, {first} to {last}), "
        f"{summary.skipped_other_services:,} other services skipped, "
        f"{summary.rejected:,} rejected"
    )
    if summary.rejected:
        raise typer.Exit(EXIT_FAILURE)
