"""`aifinops alerts evaluate|list` and `aifinops report review`: budget alerts and the
monthly FinOps review (see docs/governance.md)."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_FAILURE,
    err_console,
    fail,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.cli.report import report_app
from aifinops.periods import PeriodError, parse_day

#: aifinops.governance.alerts.KINDS, for the help text without importing the ledger
#: (tests/cli/test_startup.py holds the two equal)
KINDS = ("threshold", "hard_limit", "projected", "anomaly")

if TYPE_CHECKING:
    from aifinops.governance.alerts import Alert

alerts_app = typer.Typer(
    help="Budget alerts: evaluate them (for cron) and list them with their delivery.",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")


class ListFormat(StrEnum):
    table = "table"
    json = "json"


class Status(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    no_channel = "no_channel"


class ReviewFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


def _table(alerts: list[Alert], title: str) -> Table:
    from aifinops.governance.channels import money

    table = Table(title=title)
    for label in ("fired at", "kind", "subject", "level", "spend", "limit", "channel"):
        table.add_column(label, justify="right" if label in ("level", "spend", "limit") else "left")
    table.add_column("status")
    table.add_column("attempts", justify="right")
    table.add_column("last error", overflow="fold")
    for alert in alerts:
        s = alert.summary()
        table.add_row(
            s["fired_at"],
            s["kind"],
            s["subject"],
            str(s["level"]),
            money(s["spend_usd"]),
            money(s["limit_usd"]),
            s["channel"] or "—",
            s["status"],
            str(s["attempts"]),
            s["last_error"] or "",
        )
    return table


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


@alerts_app.command("evaluate")
def evaluate_command(
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Evaluate as of this UTC time (default now): YYYY-MM-DD[THH:MM]."
        ),
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Evaluate every budget once and deliver the new alerts (run it from cron).

    Raises each threshold, hard-limit, projected and anomaly alert once per budget and
    period (however often it runs), sends it to Slack and/or the generic webhook, and
    retries earlier failed deliveries. Does nothing while `aifinops serve` evaluates the
    same ledger. Exits 1 when a delivery failed (see `aifinops alerts list --status
    failed`).
    """
    from sqlalchemy.exc import OperationalError

    from aifinops.governance.alerts import alerts_document, iso
    from aifinops.governance.runner import alert_lock_for, run_alerts
    from aifinops.governance.status import parse_at
    from aifinops.governance.store import BudgetConflictError

    try:
        moment = parse_at(at)
    except ValueError as exc:
        fail(f"--at: {exc}")
    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    lock = alert_lock_for(engine)
    if not lock.acquire():
        err_console.print(
            "another aifinops process (aifinops serve) evaluates the alerts of this ledger; "
            "nothing done (set AIFINOPS_ALERT_INTERVAL_S=0 on serve to use cron instead)",
            markup=False,
        )
        return
    try:
        result = run_alerts(engine, settings, at=moment)
    except BudgetConflictError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"cannot read the ledger at {settings.database_url}: {exc.orig}", EXIT_FAILURE)
    finally:
        lock.release()
    if output is ListFormat.json:
        doc = alerts_document(result.new, {"report": "alerts evaluate", "at": iso(moment)})
        doc["retried"] = [a.summary() for a in result.retried]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        console = _console()
        if result.new:
            console.print(_table(result.new, f"New alerts as of {iso(moment)}"))
        if result.retried:
            console.print(_table(result.retried, "Earlier alerts retried"))
        delivered = sum(1 for a in result.new if a.status == "delivered")
        console.print(
            f"{len(result.new)} new alerts ({delivered} delivered, "
            f"{sum(1 for a in result.new if a.status == 'no_channel')} without a channel), "
            f"{len(result.retried)} earlier alerts retried, {len(result.failed)} failed"
        )
    if result.failed:
        raise typer.Exit(EXIT_FAILURE)


@alerts_app.command("list")
def list_command(
    since: Annotated[
        str | None, typer.Option("--since", help="Fired on or after this UTC date (YYYY-MM-DD).")
    ] = None,
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="Only this delivery status (repeat).")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Only this kind: {', '.join(KINDS)} (repeat)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """The alerts raised, newest first, with their delivery: status, attempts, last error."""
    from aifinops.governance.alerts import alerts_document, list_alerts

    first: date | None = None
    if since is not None:
        try:
            first = parse_day("since", since)
        except PeriodError as exc:
            fail(f"--{exc}")
    for name in kind or []:
        if name not in KINDS:
            fail(f"--kind: {name!r} is not one of {', '.join(KINDS)}")
    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    with engine.connect() as conn:
        alerts = list_alerts(
            conn,
            since=first,
            statuses=[s.value for s in status or []],
            kinds=kind or [],
            limit=limit,
        )
    if output is ListFormat.json:
        meta = {
            "report": "alerts",
            "since": first.isoformat() if first else None,
            "status": [s.value for s in status or []],
            "kind": kind or [],
            "limit": limit,
        }
        sys.stdout.write(json.dumps(alerts_document(alerts, meta), indent=2) + "\n")
        return
    _console().print(_table(alerts, "Alerts, newest first"))
    if not alerts:
        err_console.print("no alert matches", markup=False)


@report_app.command("review")
def review_command(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, current or last.")] = "last",
    output: Annotated[ReviewFormat, typer.Option("--format")] = ReviewFormat.md,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """The monthly FinOps review: the agenda of the engineering-product-finance meeting.

    Per team spend against its budget and last month, the alerts fired, the requests
    throttled or refused, the features that moved most, the features whose unit
    economics need a review, and a proposed budget per team for next month (from the run
    rate, its trend and a 10 % headroom). Markdown by default; --format html or json.
    """
    from aifinops.economics.store import effective_economics
    from aifinops.governance import review
    from aifinops.governance.store import BudgetConflictError, load_budgets

    lo, hi = range_or_exit(None, None, month)
    settings = settings_or_exit(config)
    engine = ledger_or_exit(settings)
    economics = effective_economics(engine, settings.economics)
    teams = [name for name, _ in settings.alerts.team_channels]
    with engine.connect() as conn:
        try:
            budgets = load_budgets(conn, settings.budgets)
        except BudgetConflictError as exc:
            fail(str(exc))
        doc = review.review_document(
            conn,
            review.Month(lo, hi),
            budgets=budgets,
            economics=economics,
            teams=teams,
        )
    if output is ReviewFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is ReviewFormat.html:
        sys.stdout.write(review.html_page(doc))
    else:
        sys.stdout.write(review.markdown(doc))
    if doc["meta"]["in_progress"]:
        err_console.print(
            f"note: {doc['meta']['month']} is not over; figures are month to date "
            f"(the proposals use the run rate so far)",
            markup=False,
        )
