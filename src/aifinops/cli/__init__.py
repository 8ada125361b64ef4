"""The `aifinops` command."""

from aifinops.cli.app import app, main

__all__ = ["app", "main"]
