"""`aifinops import outcomes`, `report outcomes`, `report customers`, `customers forget`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_FAILURE,
    err_console,
    fail,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.cli.importer import import_app
from aifinops.cli.report import report_app
from aifinops.economics import render

if TYPE_CHECKING:
    from aifinops.ingest.files import Rejection


class DocFormat(StrEnum):
    table = "table"
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"


def _report(rejection: Rejection) -> None:
    err_console.print(str(rejection), markup=False)


@import_app.command("outcomes")
def import_outcomes_command(
    file: Annotated[Path, typer.Argument(help="Outcome file: JSONL, or CSV (.csv).")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row is bad.")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Import outcome events, idempotent on outcome_id.

    Fields: outcome_id, unit_id, feature, customer_id, type, success, value_usd (optional),
    quality (0-1, optional), ts. A bad row is reported on stderr with its line number,
    field and reason; good rows are still imported (unless --strict) and the command
    exits 1.
    """
    from aifinops.economics.outcomes import import_outcome_rows
    from aifinops.economics.store import feature_teams
    from aifinops.ingest.files import iter_rows

    if not file.exists():
        fail(f"FILE: {file} does not exist; give the path of an outcome file")
    kind = "csv" if file.suffix.lower() == ".csv" else "jsonl"
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    teams = feature_teams(db, settings.economics)
    if strict:
        with file.open(encoding="utf-8", newline="") as stream:
            check = import_outcome_rows(db, iter_rows(stream, kind), on_reject=_report, write=False)
        if check.rejected:
            err_console.print(
                f"--strict: {check.rejected} bad rows; nothing was imported", markup=False
            )
            raise typer.Exit(EXIT_FAILURE)
    with file.open(encoding="utf-8", newline="") as stream:
        summary = import_outcome_rows(
            db, iter_rows(stream, kind), on_reject=_report, feature_teams=teams
        )
    Console(highlight=False).print(
        f"imported {summary.imported:,}, duplicates skipped {summary.duplicates:,}, "
        f"rejected {summary.rejected:,}"
    )
    if summary.rejected:
        raise typer.Exit(EXIT_FAILURE)


def _filters(
    feature: str | None, team: str | None, customer: str | None
) -> tuple[tuple[str, str], ...]:
    given = (("feature", feature), ("team", team), ("customer", customer))
    return tuple((name, value) for name, value in given if value)


@report_app.command("outcomes")
def outcomes_command(
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, current or last.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First UTC date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last UTC date (inclusive).")] = None,
    by: Annotated[
        str, typer.Option("--by", help="feature, plus any of team, customer, prompt_version.")
    ] = "feature",
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    output: Annotated[DocFormat, typer.Option("--format")] = DocFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """What to do this week: spend ÷ successful outcomes per feature, against human cost.

    Per feature: cost per successful outcome, human-cost ratio and status (healthy below
    the target ratio, watch up to the red line, review above), value share, accuracy, the
    30-day trend and a recommendation (keep, fix the cost, kill, check evals). Defaults to
    last month.
    """
    from aifinops.economics.document import economics_document
    from aifinops.economics.numbers import EconomicsQuery, compute, parse_by
    from aifinops.economics.store import effective_economics
    from aifinops.ledger.queries import QueryError

    if month is None and start is None and end is None:
        month = "last"
    lo, hi = range_or_exit(start, end, month)
    try:
        query = EconomicsQuery(
            start=lo, end=hi, by=parse_by(by), filters=_filters(feature, team, customer)
        )
    except QueryError as exc:
        fail(f"--{exc}")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    economics = effective_economics(db, settings.economics)
    with db.connect() as conn:
        doc = economics_document(compute(conn, query), economics)
    title = f"Cost per successful outcome, {lo} to {hi}"
    dims = list(query.by)
    _emit(doc, output, dims, render.OUTCOME_COLUMNS, title)


def _emit(
    doc: dict[str, object],
    output: DocFormat,
    dims: list[str],
    columns: tuple[render.Column, ...],
    title: str,
) -> None:
    rows = doc["rows"]
    assert isinstance(rows, list)
    if output is DocFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is DocFormat.csv:
        sys.stdout.write(render.csv_text(rows))
    elif output is DocFormat.md:
        sys.stdout.write(render.markdown(doc, dims, columns, title))
    elif output is DocFormat.html:
        sys.stdout.write(render.html_page(doc, dims, columns, title))
    else:
        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(render.rich_table(doc, dims, columns, title))


SHOWBACK_COLUMNS: tuple[render.Column, ...] = (
    ("direct_spend_usd", "direct USD"),
    ("allocated_spend_usd", "allocated USD"),
    ("total_spend_usd", "total USD"),
    ("share_of_total", "share"),
    ("calls", "calls"),
    ("outcomes", "outcomes"),
    ("successes", "successes"),
    ("cost_per_successful_outcome_usd", "per success USD"),
    ("charge_usd", "charge USD"),
)
STATEMENT_COLUMNS: tuple[render.Column, ...] = (
    ("spend_usd", "spend USD"),
    ("calls", "calls"),
    ("outcomes", "outcomes"),
    ("successes", "successes"),
    ("cost_per_successful_outcome_usd", "per success USD"),
)


@report_app.command("customers")
def customers_command(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, current or last.")] = "last",
    customer: Annotated[
        str | None, typer.Option("--customer", help="One customer's statement.")
    ] = None,
    markup: Annotated[
        float | None,
        typer.Option("--markup", min=0, help="Chargeback markup in % (default: the config's)."),
    ] = None,
    output: Annotated[DocFormat, typer.Option("--format")] = DocFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Showback per customer, or one customer's statement (--customer ID).

    Direct spend, shared (untagged) spend allocated by the configured rule
    (showback.allocation: proportional, fixed or none), outcomes, cost per successful
    outcome, and the charge with the markup.
    """
    from aifinops.economics.showback import customers_document, statement_document

    lo, hi = range_or_exit(None, None, month)
    settings = settings_or_exit(config)
    rule = settings.economics.showback
    if markup is not None:
        rule = replace(rule, markup_pct=Decimal(str(markup)))
    db = ledger_or_exit(settings)
    with db.connect() as conn:
        if customer is not None:
            doc = statement_document(conn, customer, lo, hi, rule)
        else:
            doc = customers_document(conn, lo, hi, rule)
    if customer is not None:
        title = f"Statement for {customer}, {lo} to {hi}"
        _emit(doc, output, ["feature"], STATEMENT_COLUMNS, title)
        if output in (DocFormat.table,):
            totals = doc["totals"]
            Console(highlight=False).print(
                f"direct {totals['direct_spend_usd']} + allocated shared "
                f"{totals['allocated_spend_usd']} = {totals['total_spend_usd']} USD; "
                f"markup {totals['markup_pct']}% → charge {totals['charge_usd']} USD"
            )
    else:
        _emit(doc, output, ["customer_id"], SHOWBACK_COLUMNS, f"Customers, {lo} to {hi}")


customers_app = typer.Typer(help="End customers (tenants) in the ledger.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")


@customers_app.command("forget")
def forget_command(
    customer: Annotated[str, typer.Argument(help="The customer_id to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Remove a customer's identifier from the ledger while keeping every total.

    Each occurrence is replaced by one random tombstone (forgotten-…), in raw events,
    rollups, outcomes and units; the customer's API tokens are revoked. Cannot be undone.
    """
    from aifinops.api.audit import cli_actor, record_audit
    from aifinops.economics.forget import forget_customer

    if not customer.strip():
        fail("CUSTOMER: give the customer_id to forget")
    if not yes and not typer.confirm(f"Forget {customer!r} everywhere? This cannot be undone"):
        raise typer.Exit(EXIT_FAILURE)
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    with db.begin() as conn:
        result = forget_customer(conn, customer)
        record_audit(
            conn,
            actor=cli_actor(),
            via="cli",
            action="customer.forget",
            target=result.tombstone,
            before=None,
            after={
                "tombstone": result.tombstone,
                "rows": result.rows,
                "tokens_revoked": result.tokens_revoked,
            },
        )
    if not result.total and not result.tokens_revoked:
        err_console.print(f"no rows mention {customer!r}; nothing changed", markup=False)
        raise typer.Exit(EXIT_FAILURE)
    Console(highlight=False).print(
        f"forgotten: {result.total:,} rows now say {result.tombstone} "
        f"({', '.join(f'{k} {v:,}' for k, v in result.rows.items() if v)}); "
        f"{result.tokens_revoked} API tokens revoked"
    )
