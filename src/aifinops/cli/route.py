"""`aifinops route whatif`: a month re-priced under a routing policy."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import fail, ledger_or_exit, range_or_exit, settings_or_exit
from aifinops.optimize.routing import RoutingConfigError, RoutingPolicy, parse_routing

route_app = typer.Typer(
    help="Routing to the cheapest model that meets the bar.", no_args_is_help=True
)
app.add_typer(route_app, name="route")


class WhatIfFormat(StrEnum):
    table = "table"
    md = "md"
    json = "json"


_COLUMNS = (
    ("feature", "feature"),
    ("provider", "provider"),
    ("from", "from_models"),
    ("to", "to_model"),
    ("status", "status"),
    ("calls", "calls"),
    ("cost $", "effective_cost_usd"),
    ("what-if $", "whatif_effective_cost_usd"),
    ("saving $", "saving_usd"),
    ("score", "score"),
    ("bar", "threshold"),
)


def load_policy_file(path: Path) -> tuple[RoutingPolicy, ...]:
    """A policy file: a YAML list of policies, or a mapping with ``routing:`` (so the
    config file itself works)."""
    import yaml

    if not path.exists():
        fail(f"--policy: {path} does not exist; give a YAML file with a routing: list")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        fail(f"--policy: {path} is not valid YAML: {exc}")
    section = data.get("routing") if isinstance(data, dict) else data
    try:
        policies = parse_routing(section)
    except RoutingConfigError as exc:
        fail(f"{path}: {exc}")
    if not policies:
        fail(f"--policy: {path} has no routing policies (a routing: list of per-feature entries)")
    return policies


def _money(value: Any) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f}"


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if key.endswith("_usd"):
        return _money(value)
    return "-" if value in (None, "") else str(value)


def _markdown(doc: dict[str, Any]) -> str:
    lines = [
        "| " + " | ".join(h for h, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(r, k) for _, k in _COLUMNS) + " |" for r in doc["rows"]]
    t = doc["totals"]
    lines.append(
        f"\nTotal: ${_money(t['effective_cost_usd'])} → ${_money(t['whatif_effective_cost_usd'])}"
        f" (saving ${_money(t['saving_usd'])})"
    )
    return "\n".join(lines)


def _table(doc: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    for header, key in _COLUMNS:
        table.add_column(header, justify="right" if key.endswith(("_usd", "calls")) else "left")
    for r in doc["rows"]:
        table.add_row(*(_cell(r, k) for _, k in _COLUMNS))
    t = doc["totals"]
    table.add_row(
        "total", "", "", "", "", str(t["calls"]), _money(t["effective_cost_usd"]),
        _money(t["whatif_effective_cost_usd"]), _money(t["saving_usd"]), "", "",
    )  # fmt: skip
    return table


@route_app.command("whatif")
def whatif_command(
    policy: Annotated[
        Path, typer.Option("--policy", help="YAML routing policies (a list, or routing:).")
    ],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, current or last.")],
    output: Annotated[
        WhatIfFormat, typer.Option("--format", help="table, md or json.")
    ] = WhatIfFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """The month re-priced as if each feature had run on the model its policy picks:
    savings per feature, and the features no candidate can serve at their quality bar
    (below_bar) or that have no eval scores (no_eval_data)."""
    from aifinops.optimize.whatif import whatif, whatif_document
    from aifinops.pricing import PricingEngine

    policies = load_policy_file(policy)
    start, end = range_or_exit(None, None, month)
    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    try:
        with engine.connect() as conn:
            rows = whatif(conn, policies, PricingEngine(rates=settings.rates), start, end)
    finally:
        engine.dispose()
    doc = whatif_document(rows, start, end)
    if output is WhatIfFormat.json:
        typer.echo(json.dumps(doc, indent=2))
    elif output is WhatIfFormat.md:
        typer.echo(_markdown(doc))
    else:
        Console(highlight=False).print(_table(doc, f"Routing what-if {start} … {end}"))
        for status in ("below_bar", "no_eval_data"):
            if doc["meta"][status]:
                typer.echo(f"{status}: {', '.join(doc['meta'][status])}")
