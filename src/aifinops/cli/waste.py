"""`aifinops waste`: the five kinds of waste, each with its monthly saving and fix."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aifinops.cli.app import app
from aifinops.cli.common import ledger_or_exit, range_or_exit, settings_or_exit
from aifinops.optimize.waste import render


class WasteFormat(StrEnum):
    table = "table"
    md = "md"
    json = "json"


@app.command("waste")
def waste_command(
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First UTC date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    output: Annotated[WasteFormat, typer.Option("--format")] = WasteFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Find and price waste: no_prompt_caching, overpowered_model, system_prompt_growth,
    context_bloat and no_max_tokens.

    Reads the insert-time waste rollup (never raw events) and the imported eval scores
    (aifinops import evals). Each finding gives its evidence (counts, tokens, example
    event ids), the monthly saving (the window's saving × 30 / days), how it was
    computed, and the fix. Thresholds: the `optimize:` section of the config file
    (docs/optimize.md). Defaults to last month.
    """
    from aifinops.optimize.waste.report import WasteQuery, waste_document
    from aifinops.pricing import PricingEngine

    if month is None and start is None and end is None:
        month = "last"
    lo, hi = range_or_exit(start, end, month)
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    query = WasteQuery(lo, hi, team=team, feature=feature)
    with db.connect() as conn:
        doc = waste_document(conn, PricingEngine(rates=settings.rates), settings.waste, query)
    title = f"Waste, {lo} to {hi}"
    if output is WasteFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is WasteFormat.md:
        sys.stdout.write(render.markdown(doc, title))
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(render.rich_table(doc, title))
