"""The `aifinops` command: one module per command group, registered on one Typer app."""

from aifinops.cli import (
    alerts,
    budget,
    demo,
    demo_data,
    economics,
    evals,
    export,
    gate,
    importer,
    keys,
    ledger,
    price,
    reconcile,
    report,
    reprice,
    route,
    serve,
    sim,
    tokens,
    waste,
)
from aifinops.cli.app import app

COMMAND_MODULES = (
    alerts,
    budget,
    demo,
    demo_data,
    economics,
    evals,
    export,
    gate,
    importer,
    keys,
    ledger,
    price,
    reconcile,
    report,
    reprice,
    route,
    serve,
    sim,
    tokens,
    waste,
)


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
