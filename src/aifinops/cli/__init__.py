"""The `aifinops` command: one module per command group, registered on one Typer app."""

from aifinops.cli import (
    alerts,
    budget,
    demo,
    demo_data,
    economics,
    export,
    gate,
    importer,
    keys,
    ledger,
    price,
    reconcile,
    report,
    reprice,
    serve,
    sim,
    tokens,
)
from aifinops.cli.app import app

COMMAND_MODULES = (
    alerts,
    budget,
    demo,
    demo_data,
    economics,
    export,
    gate,
    importer,
    keys,
    ledger,
    price,
    reconcile,
    report,
    reprice,
    serve,
    sim,
    tokens,
)


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
