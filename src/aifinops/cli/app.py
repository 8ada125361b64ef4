"""The root Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="aifinops",
    help="FinOps for AI spend: attribute, price, budget and optimise every LLM call.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    from aifinops.cli import demo, price  # noqa: F401  (registers the commands)

    app()
