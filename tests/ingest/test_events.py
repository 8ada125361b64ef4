"""Importing: in-process and with worker processes give the same ledger and reports."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.ingest.events import import_events, import_json_blocks
from aifinops.ingest.files import Rejection, iter_rows, line_blocks
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import rollup_hourly, usage_events
from aifinops.pricing import PricingEngine, RateBook

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "aifinops" / "data" / "sample_day.jsonl"
RATES = RateBook.parse([{"provider": "anthropic", "model": "claude-*", "discount_pct": 5}])


def mixed_file(tmp_path: Path) -> Path:
    lines = SAMPLE.read_text().splitlines()
    lines.insert(7, "{not json")
    lines.insert(20, json.dumps({"provider": "openai", "model": "gpt-5"}))
    lines.append(lines[3])  # a duplicate event
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def dump(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        events = conn.execute(
            select(usage_events.c.event_id, usage_events.c.effective_cost_nusd).order_by(
                usage_events.c.event_id
            )
        ).all()
        rollups = conn.execute(select(rollup_hourly).order_by(*rollup_hourly.primary_key)).all()
    return [tuple(r) for r in events], [tuple(r) for r in rollups]


def test_workers_and_in_process_agree(tmp_path: Path) -> None:
    path = mixed_file(tmp_path)
    one = open_ledger(f"sqlite:///{tmp_path / 'one.db'}")
    two = open_ledger(f"sqlite:///{tmp_path / 'two.db'}")
    rejected_one: list[Rejection] = []
    rejected_two: list[Rejection] = []
    with path.open(encoding="utf-8") as stream:
        first = import_events(
            one,
            PricingEngine(rates=RATES),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=rejected_one.append,
            batch_rows=50,
        )
    with path.open("rb") as binary:
        second = import_json_blocks(
            two,
            line_blocks(binary, 50),
            "canonical",
            RATES,
            workers=2,
            on_reject=rejected_two.append,
        )
    assert first == second
    assert (first.imported, first.duplicates, first.rejected) == (400, 1, 2)
    assert [str(r) for r in rejected_one] == [str(r) for r in rejected_two]
    assert [r.line for r in rejected_one] == [8, 21]
    assert dump(one) == dump(two)
    one.dispose()
    two.dispose()
