"""A generated company read back: the four files parsed, events priced like an importer would."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from aifinops.pricing import PricingEngine
from aifinops.pricing.bulk import price_many
from aifinops.pricing.columns import events_to_columns
from aifinops.sim.company import GenerationResult
from aifinops.usage import UsageEvent, event_from_record


@dataclass
class Company:
    """The four files of a default run, parsed; ``cost_nusd`` is aligned with ``rows``."""

    result: GenerationResult
    rows: list[dict[str, Any]]
    events: list[UsageEvent]
    cost_nusd: npt.NDArray[np.int64]
    outcomes: list[dict[str, Any]]
    evals: list[dict[str, str]]
    config: dict[str, Any]

    def rows_of(self, feature: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["feature"] == feature]

    def cost_by(self, *keys: str) -> dict[tuple[str, ...], int]:
        out: dict[tuple[str, ...], int] = defaultdict(int)
        for row, cost in zip(self.rows, self.cost_nusd.tolist(), strict=True):
            out[tuple(row[k] for k in keys)] += cost
        return out

    def feature_config(self, name: str) -> dict[str, Any]:
        return next(f for f in self.config["features"] if f["name"] == name)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def load_company(out: Path, result: GenerationResult) -> Company:
    """Read back what `generate` wrote to ``out`` (``result`` is what it returned)."""
    rows = read_jsonl(out / "events.jsonl")
    events = [event_from_record(r) for r in rows]
    priced = price_many(PricingEngine(), events_to_columns(events))
    if priced.unpriced.any():
        raise AssertionError("every synthetic call must be priced")
    with (out / "evals.csv").open(encoding="utf-8", newline="") as f:
        evals = list(csv.DictReader(f))
    return Company(
        result=result,
        rows=rows,
        events=events,
        cost_nusd=priced.list_cost_nusd,
        outcomes=read_jsonl(out / "outcomes.jsonl"),
        evals=evals,
        config=yaml.safe_load((out / "aifinops.yaml").read_text(encoding="utf-8")),
    )
