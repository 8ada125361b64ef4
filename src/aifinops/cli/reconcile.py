"""`aifinops reconcile`: the providers' bills beside the ledger, per day, provider and model."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_FAILURE,
    EXIT_NO_DATA,
    err_console,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.cli.report import ReportFormat

_COLUMNS = (
    ("day", "day"),
    ("provider", "provider"),
    ("model", "model"),
    ("billed_cost_usd", "billed USD"),
    ("ledger_effective_cost_usd", "ledger USD"),
    ("coverage", "coverage"),
    ("untracked_cost_usd", "untracked USD"),
    ("price_drift_pct", "drift"),
    ("flagged", "flag"),
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key.endswith("_usd"):
        return f"{float(value):,.2f}"
    if key in ("coverage", "price_drift_pct"):
        return f"{value * 100:+.1f}%" if key == "price_drift_pct" else f"{value * 100:.1f}%"
    if key == "flagged":
        return "⚑" if value else ""
    return str(value)


def _table(doc: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    for key, label in _COLUMNS:
        table.add_column(
            label, justify="right" if key.endswith(("_usd", "pct", "coverage")) else "left"
        )
    for row in doc["rows"]:
        table.add_row(*(_cell(k, row[k]) for k, _ in _COLUMNS))
    totals = doc["totals"]
    table.add_section()
    table.add_row(
        "total",
        "",
        "",
        *(
            _cell(k, totals[k])
            for k in ("billed_cost_usd", "ledger_effective_cost_usd", "coverage")
        ),
        _cell("untracked_cost_usd", totals["untracked_cost_usd"]),
        _cell("price_drift_pct", totals["price_drift_pct"]),
        str(totals["flagged_days"] or ""),
    )
    return table


@app.command("reconcile")
def reconcile_command(
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First UTC date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", min=0.0, help="Flag a day whose gap exceeds this % of billed cost."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Provider-reported tokens and cost beside the ledger's: coverage, untracked spend,
    price drift; days that do not reconcile within the threshold are flagged.

    Pull the reports first (aifinops import anthropic|openai|bedrock-cur). Exits 1 when a
    day is flagged, 3 when no provider report covers the period.
    """
    from aifinops.ingest.reconcile import reconcile
    from aifinops.pricing import PricingEngine
    from aifinops.reports.reconcile import reconcile_document

    lo, hi = range_or_exit(start, end, month)
    settings = settings_or_exit(config)
    pct = settings.reports.reconcile_threshold_pct if threshold is None else threshold
    db = ledger_or_exit(settings)
    with db.connect() as conn:
        result = reconcile(conn, PricingEngine(rates=settings.rates), lo, hi, pct)
    doc = reconcile_document(result, month)
    if output is ReportFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is ReportFormat.csv:
        if doc["rows"]:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(doc["rows"][0]))
            writer.writeheader()
            writer.writerows(doc["rows"])
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(_table(doc, f"Reconciliation {lo} to {hi} (threshold {pct:g}%)"))
        for flag in doc["meta"]["flagged"]:
            console.print(
                f"⚑ {flag['day']} {flag['provider']}: " + "; ".join(flag["reasons"]), markup=False
            )
    if not result.has_provider_data:
        err_console.print(
            f"no provider usage or cost report covers {lo} to {hi}; pull them first with "
            "aifinops import anthropic|openai --from … --to … (or import bedrock-cur FILE)",
            markup=False,
        )
        raise typer.Exit(EXIT_NO_DATA)
    if result.flagged:
        raise typer.Exit(EXIT_FAILURE)
