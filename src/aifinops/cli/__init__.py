"""The `aifinops` command: one module per command group, registered on one Typer app."""

from aifinops.cli import demo, price
from aifinops.cli.app import app

COMMAND_MODULES = (demo, price)


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
