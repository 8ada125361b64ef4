"""`aifinops reprice`: recompute effective cost after negotiated rates change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aifinops.cli.app import app
from aifinops.cli.common import fail, ledger_or_exit, range_or_exit, settings_or_exit
from aifinops.money import nusd_to_usd


@app.command("reprice")
def reprice_command(
    start: Annotated[str | None, typer.Option("--from", help="First UTC date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Recompute effective cost with the negotiated rates in the config now; rollups follow.

    List cost keeps the price in force on each call's date.
    """
    from aifinops.ledger.reprice import RepriceError, reprice
    from aifinops.pricing import PricingEngine

    lo, hi = range_or_exit(start, end, month)
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    try:
        result = reprice(db, PricingEngine(rates=settings.rates), lo, hi)
    except RepriceError as exc:
        fail(f"--{exc}")
    Console(highlight=False).print(
        f"re-priced {result.events:,} events from {lo} to {hi}: {result.changed:,} changed; "
        f"effective cost {nusd_to_usd(result.effective_before_nusd)} → "
        f"{nusd_to_usd(result.effective_after_nusd)} USD"
    )
