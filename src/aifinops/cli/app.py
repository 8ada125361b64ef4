"""The root Typer app; each command group lives in its own module and registers on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="aifinops",
    help="FinOps for AI spend: attribute, price, budget and optimise every LLM call.",
    no_args_is_help=True,
    add_completion=False,
)
