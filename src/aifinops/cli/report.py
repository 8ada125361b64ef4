"""`aifinops report spend`: spend by team, feature, customer, model, prompt version, day."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import fail, ledger_or_exit, range_or_exit, settings_or_exit

report_app = typer.Typer(help="Reports on the ledger.", no_args_is_help=True)
app.add_typer(report_app, name="report")


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


_TABLE_COLUMNS = (
    ("calls", "calls"),
    ("input_tokens", "input"),
    ("cache_read_tokens", "cache read"),
    ("cache_write_5m_tokens", "cache write 5m"),
    ("cache_write_1h_tokens", "cache write 1h"),
    ("output_tokens", "output"),
    ("list_cost_usd", "list USD"),
    ("effective_cost_usd", "effective USD"),
    ("share_of_total", "share"),
    ("unpriced_calls", "unpriced"),
)


def _cell(key: str, value: Any) -> str:
    if key.endswith("_usd"):
        return f"{float(value):,.2f}"
    if key == "share_of_total":
        return f"{value * 100:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)


def render_table(doc: dict[str, Any], by: tuple[str, ...], title: str) -> Table:
    table = Table(title=title)
    for name in by:
        table.add_column(name)
    for _, label in _TABLE_COLUMNS:
        table.add_column(label, justify="right")
    for row in doc["rows"]:
        table.add_row(
            *(_cell(n, row[n]) for n in by), *(_cell(k, row[k]) for k, _ in _TABLE_COLUMNS)
        )
    table.add_section()
    totals = doc["totals"]
    table.add_row(
        *(["total", *[""] * (len(by) - 1)] if by else []),
        *(_cell(k, totals[k]) for k, _ in _TABLE_COLUMNS),
    )
    return table


@report_app.command("spend")
def spend_command(
    start: Annotated[str | None, typer.Option("--from", help="First UTC date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Comma-separated: team,feature,customer,model,prompt_version,provider,day."
        ),
    ] = "team",
    top: Annotated[int | None, typer.Option("--top", help="Only the N largest rows.")] = None,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """List and effective cost, tokens by kind, calls, share of total and unpriced counts.

    Reads the hourly rollups (never raw events). Totals cover the whole range even with --top.
    """
    from aifinops.ledger.queries import QueryError, SpendQuery, parse_group_by, spend
    from aifinops.reports.spend import spend_document

    lo, hi = range_or_exit(start, end, month)
    try:
        query = SpendQuery(start=lo, end=hi, by=parse_group_by(by), top=top)
    except QueryError as exc:
        fail(f"--{exc}")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    try:
        with db.connect() as conn:
            result = spend(conn, query)
    except QueryError as exc:
        fail(f"--{exc}")
    doc = spend_document(query, result)
    if output is ReportFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is ReportFormat.csv:
        if doc["rows"]:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(doc["rows"][0]))
            writer.writeheader()
            writer.writerows(doc["rows"])
    else:
        title = f"Spend {lo} to {hi}" + (f" by {', '.join(query.by)}" if query.by else "")
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(render_table(doc, query.by, title))
        if doc["totals"]["unpriced_calls"]:
            console.print(
                f"{doc['totals']['unpriced_calls']:,} calls "
                f"({doc['totals']['unpriced_tokens']:,} tokens) have no known price and are "
                "not in the cost figures."
            )
