"""`aifinops demo-data`: write the synthetic company's events, outcomes, evals and config."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from aifinops.cli.app import app
from aifinops.cli.common import err_console

#: aifinops.sim.company.options' limits, for the help text without importing the simulator
#: and NumPy (tests/cli/test_startup.py holds them equal)
MAX_DAYS = 366
MAX_CUSTOMERS = 10_000


def _size(n: int) -> str:
    """Bytes in decimal units: ``512 B``, ``44.4 MB``."""
    if n < 1000:
        return f"{n} B"
    value = n / 1000
    units = ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value /= 1000
        units.pop(0)
    return f"{value:,.1f} {units[0]}"


def _parse_end(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; give the last day as YYYY-MM-DD (e.g. 2026-10-31)",
            param_hint="--end",
        ) from None


@app.command("demo-data")
def demo_data_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory to write into (created if missing)."),
    ],
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS, help="Days of traffic.")] = 30,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 42,
    scale: Annotated[
        float,
        typer.Option("--scale", help="Volume multiplier (1 = tens of thousands of calls)."),
    ] = 1.0,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Last day, YYYY-MM-DD (default: yesterday, UTC)."),
    ] = None,
    customers: Annotated[
        int,
        typer.Option("--customers", min=1, max=MAX_CUSTOMERS, help="End customers (long tail)."),
    ] = 40,
) -> None:
    """Generate the synthetic CRM company: events.jsonl, outcomes.jsonl, evals.csv, aifinops.yaml.

    Deterministic by --seed. Planted patterns and the signals they leave are listed in
    docs/synthetic-company.md. --scale multiplies volume up to 10,000,000 events.
    """
    from aifinops.sim.company import CompanyOptions, OptionError, generate

    if out.exists() and not out.is_dir():
        raise typer.BadParameter(
            f"{out} is a file; give a directory (it is created if missing)", param_hint="--out"
        )
    options = CompanyOptions(
        days=days, end=_parse_end(end), seed=seed, scale=scale, customers=customers
    )
    try:
        result = generate(out, options)
    except OptionError as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.option) from None
    for f in result.files:
        typer.echo(f"{f.path}: {f.rows:,} {f.what}, {_size(f.size_bytes)}")
    w = result.window
    err_console.print(
        f"{w.first_day} to {w.last_day} (seed {seed}, scale {scale:g}) in {result.seconds:.1f} s",
        markup=False,
    )
