"""Helpers shared by the command modules: settings, errors, exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from aifinops.settings import ConfigError, Settings, load_settings

EXIT_FAILURE = 1  # the command ran and found a failure (a rejected row, a failed gate)
EXIT_USAGE = 2  # bad usage
EXIT_NO_DATA = 3  # not enough data to decide

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config_path=config)
    except ConfigError as exc:
        fail(f"{exc}\nFix the config file (or AIFINOPS_CONFIG) and run the command again.")
