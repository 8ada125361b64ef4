"""`aifinops budget set|list|status|delete`: budgets made at run time, and where all stand.

Budgets in the config file are listed and shown beside the ones made here but are
read-only at run time: change those in the file. Every change made here is audited.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import EXIT_FAILURE, fail, ledger_or_exit, settings_or_exit
from aifinops.economics.render import csv_text
from aifinops.governance.budgets import Budget, BudgetError

if TYPE_CHECKING:
    from aifinops.settings import Settings

budget_app = typer.Typer(
    help="Budgets per team, feature, customer, gateway key or the whole org.",
    no_args_is_help=True,
)
app.add_typer(budget_app, name="budget")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: AIFINOPS_CONFIG).")
]

#: The option that sets each definition field (errors name the option, not the field).
OPTIONS = {
    "id": "--id",
    "scope": "--scope",
    "name": "--name",
    "amount_usd": "--amount",
    "period": "--period",
    "timezone": "--timezone",
    "cost": "--cost",
    "thresholds": "--thresholds",
    "hard_limit_pct": "--hard-limit",
    "action": "--action",
    "throttle_rpm": "--throttle-rpm",
    "downgrade": "--downgrade",
    "note": "--note",
}


class ListFormat(StrEnum):
    table = "table"
    json = "json"


class StatusFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def option_for(field: str) -> str:
    """``budget.thresholds[1]`` → ``--thresholds``; ``budget.downgrade.x`` → ``--downgrade``."""
    name = field.removeprefix("budget.").split(".", 1)[0].split("[", 1)[0]
    return OPTIONS.get(name, f"--{name.replace('_', '-')}")


def _budgets(settings: Settings) -> tuple[Budget, ...]:
    from aifinops.governance.store import BudgetConflictError, load_budgets

    engine = ledger_or_exit(settings)
    try:
        with engine.connect() as conn:
            return load_budgets(conn, settings.budgets)
    except BudgetConflictError as exc:
        fail(str(exc))


def _downgrade_map(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            fail(f"--downgrade: {pair!r} must be FROM=TO, e.g. claude-opus-4-1=claude-sonnet-4-5")
        out[source.strip()] = target.strip()
    return out


def _thresholds(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return []
    return [part.strip() for part in text.split(",")]


@budget_app.command("set")
def set_command(
    scope: Annotated[
        str, typer.Option("--scope", help="team, feature, customer, key (a gateway key id) or org.")
    ],
    amount: Annotated[str, typer.Option("--amount", help="USD per period, e.g. 500 or 1250.50.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="The team, feature, customer or key id (not for org)."),
    ] = None,
    budget_id: Annotated[
        str | None, typer.Option("--id", help="Budget id (default SCOPE:NAME, or org).")
    ] = None,
    period: Annotated[str, typer.Option("--period", help="month, week or day.")] = "month",
    timezone: Annotated[
        str,
        typer.Option("--timezone", help="Whole-hour zone of the period: UTC, UTC+5, UTC-3 …"),
    ] = "UTC",
    cost: Annotated[str, typer.Option("--cost", help="effective or list cost.")] = "effective",
    thresholds: Annotated[
        str | None,
        typer.Option("--thresholds", help="Soft thresholds in %, increasing (default 50,75,90)."),
    ] = None,
    hard_limit: Annotated[
        str, typer.Option("--hard-limit", help="Hard limit in % of the amount.")
    ] = "110",
    action: Annotated[
        str, typer.Option("--action", help="At the hard limit: throttle, block or downgrade.")
    ] = "throttle",
    throttle_rpm: Annotated[
        str, typer.Option("--throttle-rpm", help="Requests a minute allowed when throttled.")
    ] = "10",
    downgrade: Annotated[
        list[str] | None,
        typer.Option("--downgrade", help="FROM=TO model map for action downgrade (repeatable)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
    config: ConfigOption = None,
) -> None:
    """Create or replace a budget (the whole definition: omitted options take defaults).

    At the hard limit the action applies at the gateway: throttle (at most --throttle-rpm
    requests a minute for the scope), block, or downgrade (--downgrade FROM=TO). Running
    gateways pick the change up within seconds.
    """
    from aifinops.api.audit import cli_actor
    from aifinops.governance.store import BudgetConflictError, put_budget, stored_budgets

    raw: dict[str, Any] = {
        "id": budget_id,
        "scope": scope,
        "name": name,
        "amount_usd": amount,
        "period": period,
        "timezone": timezone,
        "cost": cost,
        "hard_limit_pct": hard_limit,
        "action": action,
        "throttle_rpm": throttle_rpm,
        "note": note,
    }
    levels = _thresholds(thresholds)
    if levels is not None:
        raw["thresholds"] = levels
    models = _downgrade_map(downgrade or [])
    if models is not None:
        raw["downgrade"] = models
    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    try:
        with engine.begin() as conn:
            before = {b.id for b in stored_budgets(conn)}
            budget = put_budget(conn, raw, cli_actor(), "cli", config=settings.budgets)
    except BudgetError as exc:
        fail(f"{option_for(exc.field)}: {exc.message}")
    except BudgetConflictError as exc:
        fail(str(exc))
    verb = "updated" if budget.id in before else "created"
    typer.echo(f"{verb} budget {budget.id}: {_describe(budget)}")


def _describe(b: Budget) -> str:
    d = b.as_dict()
    who = "the whole org" if b.scope == "org" else f"{b.scope} {b.name}"
    text = (
        f"{d['amount_usd']} USD of {b.cost} cost per {b.period} ({d['timezone']}) for {who}; "
        f"thresholds {','.join(map(str, b.thresholds)) or 'none'}%, "
        f"hard limit {b.hard_limit_pct}% → {b.action}"
    )
    if b.action == "throttle":
        text += f" ({b.throttle_rpm}/min)"
    if b.downgrade:
        text += " (" + ", ".join(f"{s}→{t}" for s, t in b.downgrade) + ")"
    return text


@budget_app.command("list")
def list_command(
    output: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = (
        ListFormat.table
    ),
    config: ConfigOption = None,
) -> None:
    """Every budget: the config file's (source config) and those set at run time."""
    budgets = _budgets(settings_or_exit(config))
    if output is ListFormat.json:
        typer.echo(json.dumps({"rows": [b.as_dict() for b in budgets]}, indent=2))
        return
    if not budgets:
        typer.echo(
            "no budgets (add one with `aifinops budget set --scope team --name T --amount 500`, "
            "or under budgets: in the config file)"
        )
        return
    table = Table(title="Budgets")
    for label in ("id", "scope", "name", "amount USD", "period", "cost", "thresholds", "hard"):
        table.add_column(label)
    table.add_column("action")
    table.add_column("source")
    for b in budgets:
        d = b.as_dict()
        action = b.action + (f" {b.throttle_rpm}/min" if b.action == "throttle" else "")
        table.add_row(
            b.id,
            b.scope,
            b.name or "—",
            f"{float(d['amount_usd']):,.2f}",
            f"{b.period} {d['timezone']}",
            b.cost,
            ",".join(map(str, b.thresholds)) or "—",
            f"{b.hard_limit_pct}%",
            action,
            b.source,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@budget_app.command("delete")
def delete_command(
    budget_id: Annotated[str, typer.Argument(help="The budget id (see `aifinops budget list`).")],
    config: ConfigOption = None,
) -> None:
    """Delete a budget set at run time (config-file budgets: remove them from the file)."""
    from aifinops.api.audit import cli_actor
    from aifinops.governance.store import BudgetConflictError, delete_budget

    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    try:
        with engine.begin() as conn:
            deleted = delete_budget(conn, budget_id, cli_actor(), "cli", config=settings.budgets)
    except BudgetConflictError as exc:
        fail(str(exc))
    if not deleted:
        fail(f"no run-time budget {budget_id!r} (see `aifinops budget list`)", EXIT_FAILURE)
    typer.echo(f"deleted budget {budget_id}")


def _money(value: str | None) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def _status_table(doc: dict[str, Any]) -> Table:
    from aifinops.governance.status import top_features

    table = Table(title=f"Budgets at {doc['meta']['at']}")
    for label in ("budget", "period (UTC)", "resets", "spend USD", "amount USD", "%"):
        table.add_column(label, justify="right" if label in ("spend USD", "%") else "left")
    for label in ("hard limit", "state", "projected USD", "top features"):
        table.add_column(label)
    for r in doc["rows"]:
        drivers = "; ".join(f"{f or '(untagged)'} {_money(u)}" for f, u in top_features(r))
        table.add_row(
            r["budget_id"],
            f"{r['period']} {r['timezone']}: {r['period_start']}",
            r["resets_at"],
            _money(r["spend_usd"]),
            _money(r["amount_usd"]),
            f"{r['spend_pct']:.1f}%",
            f"{r['hard_limit_pct']}% ({_money(r['hard_limit_usd'])})",
            r["state_text"],
            f"{_money(r['projected_usd'])} ({r['projected_pct']:.0f}%)",
            drivers or "—",
        )
    return table


@budget_app.command("status")
def status_command(
    at: Annotated[
        str | None,
        typer.Option("--at", help="The moment to evaluate (ISO-8601, e.g. 2026-10-31T23:59:59Z)."),
    ] = None,
    output: Annotated[StatusFormat, typer.Option("--format", help="table, json or csv.")] = (
        StatusFormat.table
    ),
    config: ConfigOption = None,
) -> None:
    """Where every budget stands: period, spend so far, state, projection and top features.

    Spend counts from the period start up to --at (default now) in the budget's cost
    basis. The projection is linear: spend so far ÷ elapsed share of the period. State:
    ok, threshold N% crossed, or over hard limit → action.
    """
    from aifinops.governance.status import budgets_status, parse_at, status_document

    try:
        moment = parse_at(at)
    except ValueError as exc:
        fail(f"--at: {exc}")
    settings = settings_or_exit(config)
    budgets = _budgets(settings)
    engine = ledger_or_exit(settings)
    with engine.connect() as conn:
        doc = status_document(budgets_status(conn, budgets, moment), moment)
    if output is StatusFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is StatusFormat.csv:
        sys.stdout.write(_csv(doc["rows"]))
    elif not doc["rows"]:
        typer.echo("no budgets (see `aifinops budget set --help`)")
    else:
        Console(width=None if sys.stdout.isatty() else 220).print(_status_table(doc))


def _csv(rows: list[dict[str, Any]]) -> str:
    return csv_text(rows)
