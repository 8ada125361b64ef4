"""Importing event files into the ledger: parse, price, write in batches.

Memory stays flat: rows stream from the file in batches of `BATCH_ROWS`; each batch is
priced in one `price_many` call and written in one transaction (idempotent on
``event_id``, so a replayed file adds nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.ingest.files import Row
from aifinops.ledger.writer import Cost, write_events
from aifinops.pricing import PricingEngine
from aifinops.pricing.bulk import price_many
from aifinops.pricing.columns import events_to_columns
from aifinops.usage import RecordError, UsageEvent

BATCH_ROWS = 5_000

Converter = Callable[[Mapping[str, Any]], UsageEvent]


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.reason}"


@dataclass(slots=True)
class ImportSummary:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    unpriced: int = 0


def convert_rows(
    rows: Iterable[Row], convert: Converter
) -> Iterator[tuple[Row, UsageEvent | Rejection]]:
    for row in rows:
        if row.data is None:
            yield row, Rejection(row.line, None, row.error or "unreadable row")
            continue
        try:
            yield row, convert(row.data)
        except RecordError as exc:
            yield row, Rejection(row.line, exc.field, exc.reason)


def price_events(pricing: PricingEngine, events: list[UsageEvent]) -> list[Cost]:
    """(list, effective, price version) of each event, priced in one `price_many` call."""
    priced = price_many(pricing, events_to_columns(events))
    return [priced.row(i) for i in range(len(events))]


def _batches(
    items: Iterator[tuple[Row, UsageEvent | Rejection]], size: int
) -> Iterator[list[tuple[Row, UsageEvent | Rejection]]]:
    batch: list[tuple[Row, UsageEvent | Rejection]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def validate(
    rows: Iterable[Row], convert: Converter, on_reject: Callable[[Rejection], None]
) -> int:
    """Check every row without writing; returns the number rejected."""
    bad = 0
    for _, result in convert_rows(rows, convert):
        if isinstance(result, Rejection):
            bad += 1
            on_reject(result)
    return bad


def import_events(
    db: Engine,
    pricing: PricingEngine,
    rows: Iterable[Row],
    convert: Converter,
    *,
    on_reject: Callable[[Rejection], None],
    on_batch: Callable[[ImportSummary], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportSummary:
    """Import ``rows``; bad rows go to ``on_reject`` and the others are still imported."""
    summary = ImportSummary()
    for batch in _batches(convert_rows(rows, convert), batch_rows):
        events: list[UsageEvent] = []
        for _, result in batch:
            if isinstance(result, Rejection):
                summary.rejected += 1
                on_reject(result)
            else:
                events.append(result)
        summary.rows += len(batch)
        if events:
            costs = price_events(pricing, events)
            with db.begin() as conn:
                written = write_events(conn, events, costs)
            summary.imported += written.inserted
            summary.duplicates += written.duplicates
            summary.unpriced += sum(1 for c in costs if c[0] is None)
        if on_batch is not None:
            on_batch(summary)
    return summary
