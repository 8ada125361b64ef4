"""The `aifinops` command: one module per command group, registered on one Typer app."""

# sim and serve (which imports sim) register first, so `aifinops --help` lists them first
# as it always has: they used to come in early through demo's imports, now in its command
import aifinops.cli.serve  # noqa: F401
from aifinops.cli import (
    alerts,
    budget,
    demo,
    demo_data,
    economics,
    evals,
    export,
    fast_exit,
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
    try:
        app()
    except SystemExit as exc:
        if fast_exit.requested():
            fast_exit.exit_now(exc.code)
        raise


__all__ = ["COMMAND_MODULES", "app", "main"]
