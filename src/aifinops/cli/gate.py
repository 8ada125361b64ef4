"""`aifinops gate` (compare two selections of a feature and decide) and `gate history`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import (
    EXIT_NO_DATA,
    err_console,
    fail,
    ledger_or_exit,
    range_or_exit,
    settings_or_exit,
)
from aifinops.gate.render import check_lines, markdown, rich_table
from aifinops.gate.selection import Selection, SelectionError, parse_selection

#: The window of ledger selections when neither --from/--to nor --month is given.
DEFAULT_DAYS = 30


class GateFormat(StrEnum):
    table = "table"
    md = "md"
    json = "json"


gate_app = typer.Typer(
    help="Cost as a deployment criterion: compare a baseline and a candidate, decide.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(gate_app, name="gate")


def _selection(option: str, text: str | None) -> Selection:
    if text is None:
        fail(f"{option} is required: key=value pairs (e.g. prompt_version=v3) or eval:FILE")
    try:
        return parse_selection(text)
    except SelectionError as exc:
        fail(f"{option}: {exc}")


def _window(start: str | None, end: str | None, month: str | None) -> tuple[date, date]:
    if start is None and end is None and month is None:
        today = datetime.now(UTC).date()
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    return range_or_exit(start, end, month)


@gate_app.callback()
def gate_command(
    ctx: typer.Context,
    feature: Annotated[str | None, typer.Option("--feature", help="The feature gated.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="key=value[,…] over the ledger (e.g. prompt_version=v3) or eval:FILE.",
        ),
    ] = None,
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="As --baseline: the change to ship.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy file (YAML or JSON); defaults otherwise."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of ledger traffic.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM.")] = None,
    output: Annotated[
        GateFormat, typer.Option("--format", help="table, md or json.")
    ] = GateFormat.table,
    record: Annotated[
        bool, typer.Option("--record", help="Store the run (see `aifinops gate history`).")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Compare a baseline and a candidate of one feature; exit 0 pass, 1 fail, 3 not enough data.

    Ledger selections cover --from/--to (or --month; the last 30 days by default). An
    eval-run file is JSONL with provider, model, usage (the provider's own usage object),
    score, success and optionally latency_ms per case. See docs/gate.md.
    """
    if ctx.invoked_subcommand is not None:  # gate history
        return
    from aifinops.api.audit import cli_actor
    from aifinops.economics.store import feature_teams
    from aifinops.gate.policy import PolicyError, load_policy
    from aifinops.gate.run import run_gate
    from aifinops.gate.samples import SampleError
    from aifinops.gate.store import record_run
    from aifinops.pricing.engine import PricingEngine

    if feature is None:
        fail("--feature is required: the feature whose change is gated")
    base_sel = _selection("--baseline", baseline)
    cand_sel = _selection("--candidate", candidate)
    try:
        gate_policy = load_policy(policy)
    except PolicyError as exc:
        fail(f"--policy: {exc}")
    window = _window(start, end, month)
    settings = settings_or_exit(config)
    needs_ledger = record or not (base_sel.is_eval and cand_sel.is_eval)
    db = ledger_or_exit(settings) if needs_ledger else None
    pricing = PricingEngine(rates=settings.rates)
    try:
        run = run_gate(db, pricing, feature, base_sel, cand_sel, window, gate_policy)
    except SampleError as exc:
        fail(str(exc))
    if record and db is not None:
        team = run.team or feature_teams(db, settings.economics).get(feature)
        run = type(run)(run.document, run.verdict, team)
        run_id = record_run(db, run, cli_actor())
        run.document["run_id"] = run_id
        err_console.print(f"recorded as {run_id}", markup=False)
    if output is GateFormat.json:
        sys.stdout.write(json.dumps(run.document, indent=2) + "\n")
    elif output is GateFormat.md:
        sys.stdout.write(markdown(run.document))
    else:
        console = Console(highlight=False)
        console.print(rich_table(run.document))
        for line in check_lines(run.document):
            console.print(line, markup=False)
    raise typer.Exit(run.verdict.exit_code)


@gate_app.command("history")
def history_command(
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs.")] = 50,
    output: Annotated[
        GateFormat, typer.Option("--format", help="table, md or json.")
    ] = GateFormat.table,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Recorded gate runs, newest first (stored by `aifinops gate --record`)."""
    from aifinops.gate.store import list_runs
    from aifinops.ledger.queries import EVERYTHING

    if not 1 <= limit <= 1000:
        fail("--limit must be between 1 and 1000")
    settings = settings_or_exit(config)
    db = ledger_or_exit(settings)
    with db.connect() as conn:
        runs = list_runs(conn, EVERYTHING, feature=feature, limit=limit)
    if output is GateFormat.json:
        sys.stdout.write(json.dumps({"gates": runs}, indent=2) + "\n")
        return
    if not runs:
        err_console.print(
            "no recorded gate runs"
            + (f" for feature {feature}" if feature else "")
            + "; record one with `aifinops gate … --record`",
            markup=False,
        )
        raise typer.Exit(EXIT_NO_DATA)
    if output is GateFormat.md:
        lines = [
            "| when | feature | baseline | candidate | verdict | ran by | run |",
            "| --- " * 7 + "|",
        ]
        for r in runs:
            lines.append(
                f"| {r['ts']} | {r['feature']} | `{r['baseline']}` | `{r['candidate']}` | "
                f"{r['verdict']} | {r['ran_by']} | {r['run_id']} |"
            )
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title="Gate runs, newest first", title_justify="left")
    for column in ("when", "feature", "baseline", "candidate", "verdict", "ran by", "run"):
        table.add_column(column, overflow="fold", no_wrap=column in ("when", "run"))
    for r in runs:
        table.add_row(
            r["ts"],
            r["feature"],
            r["baseline"],
            r["candidate"],
            r["verdict"],
            r["ran_by"],
            r["run_id"],
        )
    Console(highlight=False).print(table)
