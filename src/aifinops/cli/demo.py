"""`aifinops demo`: the synthetic company's month in a fresh ledger (spend, unit economics,
budgets), then its calls live through the gateway; or price a bundled day (--sample)."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.cli.common import err_console, fail
from aifinops.cli.report import render_table
from aifinops.economics import render
from aifinops.governance.budgets import Budget
from aifinops.money import nusd_to_usd
from aifinops.usage import UsageEvent, event_from_record, flat_from_record

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from aifinops.pricing.bulk import PricedColumns
    from aifinops.settings import Settings

SUMMED = ("calls", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")


def _bundled(name: str) -> str:
    return resources.files("aifinops").joinpath("data", name).read_text(encoding="utf-8")


def _aggregate(
    events: list[UsageEvent], priced: PricedColumns
) -> dict[tuple[str, str], dict[str, int]]:
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, event in enumerate(events):
        g = groups[(event.provider, event.model)]
        g["calls"] += 1
        g["input_tokens"] += event.usage.input_tokens
        g["cache_read_tokens"] += event.usage.cache_read_tokens
        g["cache_write_tokens"] += event.usage.cache_write_tokens
        g["output_tokens"] += event.usage.output_tokens
        list_nusd, effective_nusd, _ = priced.row(i)
        if list_nusd is None or effective_nusd is None:
            g["unpriced"] += 1
        else:
            g["list_nusd"] += list_nusd
            g["effective_nusd"] += effective_nusd
    return groups


def _table(groups: dict[tuple[str, str], dict[str, int]], title: str) -> Table:
    table = Table(title=title)
    for name in ("provider", "model", "calls", "input", "cache read", "cache write", "output"):
        table.add_column(name, justify="left" if name in ("provider", "model") else "right")
    table.add_column("list USD", justify="right")
    table.add_column("effective USD", justify="right")
    totals: dict[str, int] = defaultdict(int)
    order = sorted(groups.items(), key=lambda kv: -kv[1].get("list_nusd", 0))
    for (provider, model), g in order:
        priced = g["calls"] > g.get("unpriced", 0)
        table.add_row(
            provider,
            model,
            *(f"{g[k]:,}" for k in SUMMED),
            _usd(g.get("list_nusd", 0)) if priced else "unpriced",
            _usd(g.get("effective_nusd", 0)) if priced else "unpriced",
        )
        for key, value in g.items():
            totals[key] += value
    table.add_section()
    table.add_row(
        "total",
        "",
        *(f"{totals[k]:,}" for k in SUMMED),
        _usd(totals["list_nusd"]),
        _usd(totals["effective_nusd"]),
    )
    return table


def _usd(nusd: int) -> str:
    text = nusd_to_usd(nusd) or "0"
    return f"${float(text):,.4f}"


def sample_day(no_rates: bool) -> None:
    """The foundation demo: price a bundled day of mixed traffic, cost by model."""
    import yaml

    from aifinops.pricing import PricingEngine, RateBook
    from aifinops.pricing.bulk import price_many
    from aifinops.pricing.columns import events_to_columns
    from aifinops.pricing.rates import load_rates_data

    rates = RateBook() if no_rates else load_rates_data(yaml.safe_load(_bundled("demo_rates.yaml")))
    engine = PricingEngine(rates=rates)
    events = [event_from_record(json.loads(t)) for t in _bundled("sample_day.jsonl").splitlines()]
    groups = _aggregate(events, price_many(engine, events_to_columns(events)))
    console = Console(width=None if sys.stdout.isatty() else 150)
    day = events[0].ts.date().isoformat() if events else "?"
    console.print(_table(groups, f"Sample traffic of {day}: cost by model"))
    unpriced = sum(g.get("unpriced", 0) for g in groups.values())
    console.print(
        f"{len(events)} calls priced with {engine.list_version}"
        + ("" if no_rates else " and the demo's negotiated rates")
        + f"; {unpriced} calls to models with no known price are counted as unpriced, not $0."
    )


def _fresh_ledger(directory: Path) -> tuple[str, Engine]:
    from aifinops.ledger.db import open_ledger

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "aifinops.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    return url, open_ledger(url)


def company_month(directory: Path, days: int, seed: int) -> tuple[str, Engine, Path, Settings]:
    """Generate the synthetic company, import its month into a fresh ledger, show spend,
    cost per successful outcome and where its budgets stand; the company's settings."""
    from aifinops.ingest.events import import_events
    from aifinops.ingest.files import iter_rows
    from aifinops.ledger.queries import SpendQuery, spend
    from aifinops.pricing import PricingEngine
    from aifinops.reports.spend import spend_document
    from aifinops.settings import load_settings
    from aifinops.sim.company import EVENTS_FILE, CompanyOptions, OptionError, generate

    console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    try:
        result = generate(directory, CompanyOptions(days=days, seed=seed))
    except OptionError as exc:
        fail(f"--{exc.option}: {exc}")
    url, db = _fresh_ledger(directory)
    events_file = directory / EVENTS_FILE
    started = time.perf_counter()
    with events_file.open(encoding="utf-8") as stream:
        summary = import_events(
            db,
            PricingEngine(),
            iter_rows(stream, "jsonl"),
            flat_from_record,
            on_reject=lambda r: err_console.print(str(r), markup=False),
        )
    seconds = time.perf_counter() - started
    window = result.window
    console.print(
        f"Synthetic CRM company, {window.first_day} to {window.last_day} (seed {seed}): "
        f"{summary.imported:,} calls imported into {url} in {seconds:.1f} s"
    )
    with db.connect() as conn:
        for by in (("team",), ("feature",)):
            query = SpendQuery(start=window.first_day, end=window.last_day, by=by)
            doc = spend_document(query, spend(conn, query))
            console.print(render_table(doc, by, f"Spend by {by[0]}, {query.start} to {query.end}"))
    config = directory / "aifinops.yaml"
    settings = load_settings({}, config_path=config)
    _economics(console, directory, db, settings, window.first_day, window.last_day)
    _budgets(console, db, settings.budgets)
    console.print(
        f"Files in {directory}: events.jsonl, outcomes.jsonl, evals.csv, aifinops.yaml.\n"
        f"Explore: AIFINOPS_DATABASE_URL={url} aifinops report spend "
        f"--from {window.first_day} --to {window.last_day} --by feature,day\n"
        f"         AIFINOPS_DATABASE_URL={url} AIFINOPS_CONFIG={config} "
        f"aifinops report outcomes --from {window.first_day} --to {window.last_day}\n"
        f"         AIFINOPS_DATABASE_URL={url} AIFINOPS_CONFIG={config} aifinops budget status",
        soft_wrap=True,
    )
    return url, db, events_file, settings


def budget_lines(doc: dict[str, Any]) -> list[str]:
    """One line per budget of a `status_document`: spend of amount, %, state, projection
    and top features (the figures of `aifinops budget status`)."""
    from aifinops.governance.channels import money
    from aifinops.governance.status import top_features

    rows = doc["rows"]
    ids = max((len(r["budget_id"]) for r in rows), default=0)
    spent = [f"{money(r['spend_usd'])} of {money(r['amount_usd'])}" for r in rows]
    width = max((len(t) for t in spent), default=0)
    states = max((len(r["state_text"]) for r in rows), default=0)
    lines = []
    for r, text in zip(rows, spent, strict=True):
        top = ", ".join(f or "(untagged)" for f, _ in top_features(r))
        lines.append(
            f"  {r['budget_id']:<{ids}}  {text:>{width}} {r['spend_pct']:>6.1f} %  "
            f"{r['state_text']:<{states}}  projected {money(r['projected_usd'])}"
            + (f"; top: {top}" if top else "")
        )
    return lines


def _budgets(console: Console, db: Engine, budgets: tuple[Budget, ...]) -> None:
    """Where the company's budgets stand now (as `aifinops budget status`)."""
    from aifinops.governance.status import budgets_status, status_document

    if not budgets:
        return
    now = datetime.now(UTC).replace(microsecond=0)
    with db.connect() as conn:
        doc = status_document(budgets_status(conn, budgets, now), now)
    totals = doc["totals"]
    console.print(
        f"Budgets at {doc['meta']['at']} (monthly, UTC; {totals['threshold']} past a soft "
        f"threshold, {totals['over_hard_limit']} over the hard limit):\n"
        + "\n".join(budget_lines(doc)),
        markup=False,
        soft_wrap=True,
    )


#: Columns of `report outcomes` the demo leaves out to fit a terminal.
_DEMO_LEFT_OUT = frozenset({"open_unit_spend_usd", "value_share", "cache_hit_rate"})


def _economics(
    console: Console, directory: Path, db: Engine, settings: Settings, first: date, last: date
) -> None:
    """Import the company's outcomes and print cost per successful outcome per feature."""
    from aifinops.economics.document import economics_document
    from aifinops.economics.numbers import EconomicsQuery, compute
    from aifinops.economics.outcomes import import_outcome_rows
    from aifinops.ingest.files import iter_rows
    from aifinops.sim.company import OUTCOMES_FILE

    teams = {f.name: f.team for f in settings.economics.features if f.team}
    with (directory / OUTCOMES_FILE).open(encoding="utf-8") as stream:
        import_outcome_rows(
            db,
            iter_rows(stream, "jsonl"),
            on_reject=lambda r: err_console.print(str(r), markup=False),
            feature_teams=teams,
        )
    with db.connect() as conn:
        doc = economics_document(compute(conn, EconomicsQuery(first, last)), settings.economics)
    title = f"Cost per successful outcome, {first} to {last}"
    columns = tuple(c for c in render.OUTCOME_COLUMNS if c[0] not in _DEMO_LEFT_OUT)
    console.print(render.rich_table(doc, ["feature"], columns, title))


@app.command("demo")
def demo_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the company's files and ledger.")
    ] = Path(".demo"),
    days: Annotated[int, typer.Option("--days", help="Days of traffic, ending yesterday.")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic company.")] = 42,
    sample: Annotated[
        bool, typer.Option("--sample", help="Only price the bundled sample day (no ledger).")
    ] = False,
    no_rates: Annotated[
        bool, typer.Option("--no-rates", help="With --sample: list prices only.")
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Then start the simulator and the gateway and drive calls through it live.",
        ),
    ] = True,
    live_calls: Annotated[
        int | None,
        typer.Option("--live-calls", min=1, help="Stop after this many live calls (else: Ctrl-C)."),
    ] = None,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Live calls per second.")] = 5.0,
    port: Annotated[int, typer.Option("--port", help="The gateway's port.")] = 8787,
    alert_interval: Annotated[
        float,
        typer.Option(
            "--alert-interval",
            min=0.5,
            help="Seconds between two budget alert evaluations of the live gateway.",
        ),
    ] = 5.0,
) -> None:
    """Build the synthetic company's month into a fresh SQLite ledger; spend by team and
    feature, cost per successful outcome, where each budget stands.

    Then (unless --no-live) start a webhook receiver, the simulator and the gateway on
    that ledger with the company's aifinops.yaml (its budgets apply: team success is over
    its hard limit and throttled), print where to point an SDK, and drive the company's
    calls through the gateway live until Ctrl-C (or --live-calls), printing the budget
    alerts the receiver gets (sales past 50/75/90 %, success at its hard limit too).

    With --sample, price the bundled day of mixed traffic instead (Anthropic, OpenAI,
    Bedrock; negotiated rates from aifinops/data/demo_rates.yaml) and print cost by model.
    """
    from aifinops.cli.demo_live import run_live

    if sample:
        sample_day(no_rates)
        return
    if live and port:
        typer.echo(
            f"The dashboard will be at http://127.0.0.1:{port}/ once the synthetic company's "
            "month is loaded (the sign-in link follows)."
        )
    url, db, events_file, settings = company_month(directory, days, seed)
    if live:
        console = Console(highlight=False)
        run_live(
            directory,
            url,
            db,
            events_file,
            port=port,
            limit=live_calls,
            rate=rate,
            console=console,
            budgets=settings.budgets,
            alert_interval_s=alert_interval,
        )
