"""`aifinops demo`: price a bundled day of mixed traffic and show the cost by model."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from importlib import resources
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from aifinops.cli.app import app
from aifinops.money import nusd_to_usd
from aifinops.pricing import PricingEngine, RateBook
from aifinops.pricing.bulk import PricedColumns, price_many
from aifinops.pricing.columns import events_to_columns
from aifinops.pricing.rates import load_rates_data
from aifinops.usage import UsageEvent, event_from_record

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


@app.command("demo")
def demo_command(
    no_rates: Annotated[
        bool, typer.Option("--no-rates", help="Show list prices only (no negotiated rates).")
    ] = False,
) -> None:
    """Price a bundled day of mixed traffic (Anthropic, OpenAI, Bedrock) and print cost by model.

    Effective cost applies the example negotiated rates in aifinops/data/demo_rates.yaml.
    """
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
