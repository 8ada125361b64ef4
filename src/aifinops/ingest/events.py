"""Importing event files into the ledger: parse, price, write in batches.

Memory stays flat: rows stream from the file in batches of `BATCH_ROWS`; each batch is
validated into flat canonical rows, priced in one `price_many` call and written in one
transaction (idempotent on ``event_id``, so a replayed file adds nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.ingest.files import Row
from aifinops.ledger.writer import set_cost, write_rows
from aifinops.pricing import PricingEngine
from aifinops.pricing.bulk import price_many
from aifinops.pricing.columns import flat_to_columns
from aifinops.usage import RecordError

BATCH_ROWS = 5_000

#: Turns one input row into validated flat canonical fields (raises `RecordError`).
Converter = Callable[[Mapping[str, Any]], dict[str, Any]]


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


def convert_rows(rows: Iterable[Row], convert: Converter) -> Iterator[dict[str, Any] | Rejection]:
    for row in rows:
        if row.data is None:
            yield Rejection(row.line, None, row.error or "unreadable row")
            continue
        try:
            yield convert(row.data)
        except RecordError as exc:
            yield Rejection(row.line, exc.field, exc.reason)


def price_rows(pricing: PricingEngine, rows: list[dict[str, Any]]) -> None:
    """Set list and effective cost, price version and the unpriced flag on each row."""
    priced = price_many(pricing, flat_to_columns(rows))
    for i, row in enumerate(rows):
        set_cost(row, priced.row(i))


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
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
    for result in convert_rows(rows, convert):
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
        good: list[dict[str, Any]] = []
        for result in batch:
            if isinstance(result, Rejection):
                summary.rejected += 1
                on_reject(result)
            else:
                good.append(result)
        summary.rows += len(batch)
        if good:
            price_rows(pricing, good)
            with db.begin() as conn:
                written = write_rows(conn, good)
            summary.imported += written.inserted
            summary.duplicates += written.duplicates
            summary.unpriced += sum(1 for r in good if r["unpriced"])
        if on_batch is not None:
            on_batch(summary)
    return summary
