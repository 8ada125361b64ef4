"""`aifinops price FILE`: price canonical event rows, JSONL (or CSV) to stdout."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifinops.cli.app import app
from aifinops.cli.common import EXIT_FAILURE, err_console, fail, settings_or_exit
from aifinops.money import nusd_to_usd
from aifinops.usage import RecordError, UsageEvent, event_from_record

if TYPE_CHECKING:
    from aifinops.ingest.files import Row
    from aifinops.pricing import PricingEngine

CHUNK_ROWS = 20_000
COST_FIELDS = ("list_cost_usd", "effective_cost_usd", "price_version", "unpriced")


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class InputFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def price_rows(
    engine: PricingEngine, rows: list[Row]
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Priced output rows and (line, reason) for each rejected row, in input order."""
    from aifinops.pricing.bulk import price_many
    from aifinops.pricing.columns import events_to_columns

    good: list[tuple[dict[str, Any], UsageEvent]] = []
    rejected: list[tuple[int, str]] = []
    for row in rows:
        if row.data is None:
            rejected.append((row.line, row.error or "unreadable row"))
            continue
        try:
            good.append((row.data, event_from_record(row.data)))
        except RecordError as exc:
            rejected.append((row.line, str(exc)))
    if not good:
        return [], rejected
    priced = price_many(engine, events_to_columns([e for _, e in good]))
    out = []
    for i, (data, _) in enumerate(good):
        list_nusd, eff_nusd, version = priced.row(i)
        out.append(
            {
                **data,
                "list_cost_usd": nusd_to_usd(list_nusd),
                "effective_cost_usd": nusd_to_usd(eff_nusd),
                "price_version": version,
                "unpriced": list_nusd is None,
            }
        )
    return out, rejected


@app.command("price")
def price_command(
    file: Annotated[Path, typer.Argument(help="Canonical events, JSONL or CSV ('-' for stdin).")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format on stdout.")
    ] = OutputFormat.jsonl,
    input_format: Annotated[
        InputFormat | None,
        typer.Option("--input-format", help="Input format; by default from the file extension."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file with negotiated `rates:`.")
    ] = None,
) -> None:
    """Price each event row; adds list_cost_usd, effective_cost_usd, price_version, unpriced.

    Rows need ts, provider and model; token fields default to 0. A bad row is reported on
    stderr with its line number and field, the others are still priced, and the command
    exits 1. A model with no known price gets null costs and unpriced=true, never $0.
    """
    from aifinops.ingest.files import detect_format, iter_rows
    from aifinops.pricing import PricingEngine

    settings = settings_or_exit(config)
    engine = PricingEngine(rates=settings.rates)
    fmt = detect_format(file, input_format.value if input_format else None)
    if str(file) != "-" and not file.exists():
        fail(f"FILE: {file} does not exist; give the path of a JSONL or CSV event file")
    stream = sys.stdin if str(file) == "-" else file.open(encoding="utf-8", newline="")
    writer: csv.DictWriter[str] | None = None
    totals = {"priced": 0, "unpriced": 0, "rejected": 0}
    with stream:
        for chunk in _chunks(iter_rows(stream, fmt), CHUNK_ROWS):
            out, rejected = price_rows(engine, chunk)
            for line, reason in rejected:
                err_console.print(f"line {line}: {reason}", markup=False)
            totals["rejected"] += len(rejected)
            totals["priced"] += len(out)
            totals["unpriced"] += sum(1 for r in out if r["unpriced"])
            if output_format is OutputFormat.jsonl:
                sys.stdout.write("".join(json.dumps(r, default=str) + "\n" for r in out))
                continue
            if out and writer is None:
                header = [k for k in out[0] if k not in COST_FIELDS] + list(COST_FIELDS)
                writer = csv.DictWriter(sys.stdout, fieldnames=header, extrasaction="ignore")
                writer.writeheader()
            if writer is not None:
                writer.writerows(out)
    err_console.print(
        f"priced {totals['priced']} rows ({totals['unpriced']} unpriced), "
        f"rejected {totals['rejected']}"
    )
    if totals["rejected"]:
        raise typer.Exit(EXIT_FAILURE)
