"""`aifinops export focus`: the ledger as FOCUS 1.2 for CloudHealth, Vantage, Apptio."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_NO_DATA,
    err_console,
    fail,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.money import nusd_to_usd

export_app = typer.Typer(help="Export the ledger for other FinOps tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("focus")
def focus_command(
    out: Annotated[
        Path, typer.Option("--out", help="Output file: FILE.csv or FILE.parquet (typed).")
    ],
    start: Annotated[str | None, typer.Option("--from", help="First UTC date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """FOCUS 1.2 rows: day × provider × model × token type × attribution (in Tags).

    List, contracted, effective and billed cost, pricing and consumed quantities,
    ServiceCategory "AI and Machine Learning", the calendar month as billing period, and
    x_ columns for what FOCUS has no column for. Reads the hourly rollups. A .parquet
    file holds the same rows, typed (decimals, UTC timestamps). Exits 3 when the ledger
    has no usage in the range.
    """
    from aifinops.export.focus import write_focus_csv
    from aifinops.pricing import PricingEngine

    lo, hi = range_or_exit(start, end, month)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        fail(f"--out: {out} must end in .csv or .parquet")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    pricing = PricingEngine(rates=settings.rates)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".focus-", suffix=suffix, dir=out.parent)
    try:
        if suffix == ".parquet":
            os.close(fd)
            # imported here: pyarrow takes a quarter of a second to load, which every
            # other command would pay
            parquet = importlib.import_module("aifinops.export.focus_parquet")
            with db.connect() as conn:
                summary = parquet.write_focus_parquet(conn, pricing, lo, hi, Path(tmp))
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream, db.connect() as conn:
                summary = write_focus_csv(conn, pricing, lo, hi, stream)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    Console(highlight=False, soft_wrap=True).print(
        f"wrote {summary.rows:,} FOCUS rows ({summary.groups:,} day × attribution groups) to "
        f"{out}: list {nusd_to_usd(summary.list_cost_nusd)} USD, "
        f"effective {nusd_to_usd(summary.effective_cost_nusd)} USD"
    )
    if summary.unpriced_groups:
        err_console.print(
            f"{summary.unpriced_groups:,} groups have no list price: their cost columns are 0 "
            "and x_PriceStatus says unpriced",
            markup=False,
        )
    if not summary.rows:
        err_console.print(f"the ledger has no usage from {lo} to {hi}", markup=False)
        raise typer.Exit(EXIT_NO_DATA)
