"""Importing: in-process and with worker processes give the same ledger and reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.ingest.events import ImportSummary, import_events, import_json_blocks
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


def one_worker(
    db: Engine | Callable[[], Engine], blocks: Iterable[tuple[int, bytes]], **options: Any
) -> ImportSummary:
    """`import_json_blocks` of canonical blocks with one worker, rejections ignored."""
    return import_json_blocks(
        db, blocks, "canonical", RATES, workers=1, on_reject=lambda _: None, **options
    )


def test_the_ledger_can_be_opened_once_the_first_blocks_are_with_the_workers(
    tmp_path: Path,
) -> None:
    path = mixed_file(tmp_path)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    read_before_open: list[int] = []
    blocks_read = 0

    def counted(blocks: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        nonlocal blocks_read
        for block in blocks:
            blocks_read += 1
            yield block

    def opener() -> Engine:
        read_before_open.append(blocks_read)
        return open_ledger(url)  # a fresh ledger: created and migrated here

    with path.open("rb") as binary:
        summary = one_worker(opener, counted(line_blocks(binary, 50)), dialect="sqlite")
    # every block of this small file was with the workers before the ledger was opened
    assert blocks_read > 1 and read_before_open == [blocks_read]
    assert (summary.imported, summary.duplicates, summary.rejected) == (400, 1, 2)
    reference = open_ledger(f"sqlite:///{tmp_path / 'reference.db'}")
    with path.open("rb") as binary:
        one_worker(reference, line_blocks(binary, 50))
    engine = open_ledger(url)
    assert dump(engine) == dump(reference)
    engine.dispose()
    reference.dispose()


def test_a_ledger_that_cannot_be_opened_stops_the_import_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text(SAMPLE.read_text() * 20)  # 8,000 lines: 160 blocks of 50

    blocks_read: list[int] = []

    def opener() -> Engine:
        blocks_read.append(binary.tell())
        raise OSError("no such database")

    with path.open("rb") as binary, pytest.raises(OSError, match="no such database"):
        one_worker(opener, line_blocks(binary, 50), dialect="sqlite")
    # the ledger is opened once IN_FLIGHT - 1 blocks are with the worker, before the
    # rest of the file's 160 are read; the error ends the import
    assert 0 < blocks_read[0] < path.stat().st_size


def test_a_ledger_opener_needs_the_dialect(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dialect"):
        one_worker(lambda: open_ledger(f"sqlite:///{tmp_path / 'x.db'}"), iter(()))
