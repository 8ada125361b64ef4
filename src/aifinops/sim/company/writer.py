"""Write the synthetic company to a directory: events, outcomes, evals and config.

Events and outcomes stream to disk block by block (memory stays flat at any scale);
each file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from aifinops.sim.company.config import company_config, config_yaml
from aifinops.sim.company.evals import EVALS, evals_csv
from aifinops.sim.company.options import CompanyOptions, Window, resolve
from aifinops.sim.company.outcomes import outcome_lines
from aifinops.sim.company.render import event_lines
from aifinops.sim.company.spend import SpendTally
from aifinops.sim.company.traffic import epoch_ms, iter_blocks

EVENTS_FILE = "events.jsonl"
OUTCOMES_FILE = "outcomes.jsonl"
EVALS_FILE = "evals.csv"
CONFIG_FILE = "aifinops.yaml"


@dataclass(frozen=True, slots=True)
class FileSummary:
    path: Path
    rows: int
    size_bytes: int
    what: str  # what a row is, e.g. "events"


@dataclass(frozen=True)
class GenerationResult:
    window: Window
    files: tuple[FileSummary, ...]
    spend: SpendTally
    seconds: float


@contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _header(window: Window) -> str:
    o = window.options
    return (
        "The synthetic CRM company of `aifinops demo-data` (see docs/synthetic-company.md).\n"
        f"seed {o.seed}, {o.days} days {window.first_day} to {window.last_day}, "
        f"scale {o.scale:g}, {o.customers} customers.\n"
        f"Budgets are sized from list spend {window.month_start} to {window.last_day}:\n"
        "sales at 95 % of its budget (past the soft thresholds), success at 125 %\n"
        "(past the 110 % hard limit), support and platform at 40 %, ticket-resolution at 30 %."
    )


def _summary(path: Path, rows: int, what: str) -> FileSummary:
    return FileSummary(path, rows, path.stat().st_size, what)


def generate(
    out_dir: Path, options: CompanyOptions | None = None, *, today: date | None = None
) -> GenerationResult:
    """Generate the company into ``out_dir`` (created if missing; its four files replaced).

    ``today`` fixes "yesterday" when ``options.end`` is None (default: the UTC date).
    Raises `OptionError` for options out of range.
    """
    started = time.perf_counter()
    window = resolve(options or CompanyOptions(), today)
    out_dir.mkdir(parents=True, exist_ok=True)
    tally = SpendTally(month_start_ms=epoch_ms(window.month_start))
    events = outcomes = 0
    events_path, outcomes_path = out_dir / EVENTS_FILE, out_dir / OUTCOMES_FILE
    with _atomic(events_path) as ev, _atomic(outcomes_path) as oc:
        for block in iter_blocks(window):
            for text in event_lines(block, window):
                ev.write(text)
            for text in outcome_lines(block.outcomes, window):
                oc.write(text)
            tally.add(block)
            events += len(block.calls)
            outcomes += len(block.outcomes)
    evals_path = out_dir / EVALS_FILE
    with _atomic(evals_path) as f:
        f.write(evals_csv())
    config = company_config(tally.by_team(month=True), tally.by_feature(month=True))
    config_path = out_dir / CONFIG_FILE
    with _atomic(config_path) as f:
        f.write(config_yaml(config, _header(window)))
    files = (
        _summary(events_path, events, "events"),
        _summary(outcomes_path, outcomes, "outcomes"),
        _summary(evals_path, len(EVALS), "eval scores"),
        _summary(config_path, sum(len(v) for v in config.values()), "config entries"),
    )
    return GenerationResult(window, files, tally, time.perf_counter() - started)
