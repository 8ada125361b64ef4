"""The FOCUS export as Parquet: the CSV's rows, typed.

The same rows as `aifinops.export.focus.write_focus_csv`, column for column, with the
types FOCUS names instead of text: costs and quantities as ``decimal128(38, 9)`` and
unit prices as ``decimal128(38, 12)`` (FOCUS Decimal; exact, like the nano-USD they
come from — never a binary float), the period columns as UTC timestamps (FOCUS
DateTime), the ``x_`` counts as ``int64``, and everything else, ``Tags`` (JSON text)
included, as strings. Rows are written in row groups of `BATCH_ROWS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection

from aifinops.export.focus import COLUMNS, ExportSummary, focus_rows
from aifinops.pricing import PricingEngine

COST = pa.decimal128(38, 9)
UNIT_PRICE = pa.decimal128(38, 12)
QUANTITY = pa.decimal128(38, 9)
TIMESTAMP = pa.timestamp("us", tz="UTC")
BATCH_ROWS = 50_000

#: The columns that are not strings, and their types.
TYPES: Mapping[str, pa.DataType] = {
    "BilledCost": COST,
    "EffectiveCost": COST,
    "ListCost": COST,
    "ContractedCost": COST,
    "ListUnitPrice": UNIT_PRICE,
    "ContractedUnitPrice": UNIT_PRICE,
    "PricingQuantity": QUANTITY,
    "ConsumedQuantity": QUANTITY,
    "BillingPeriodStart": TIMESTAMP,
    "BillingPeriodEnd": TIMESTAMP,
    "ChargePeriodStart": TIMESTAMP,
    "ChargePeriodEnd": TIMESTAMP,
    "x_Tokens": pa.int64(),
    "x_ReasoningTokens": pa.int64(),
    "x_Calls": pa.int64(),
    "x_UnpricedCalls": pa.int64(),
}
SCHEMA = pa.schema([pa.field(name, TYPES.get(name, pa.string())) for name in COLUMNS])
_DECIMALS = frozenset(n for n, t in TYPES.items() if pa.types.is_decimal(t))
_TIMES = frozenset(n for n, t in TYPES.items() if pa.types.is_timestamp(t))


def _timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def typed(row: Mapping[str, Any]) -> dict[str, Any]:
    """One FOCUS row (the CSV's text values) with the Parquet schema's Python values."""
    out: dict[str, Any] = {}
    for name in COLUMNS:
        value = row.get(name)
        if value is None or value == "":
            out[name] = None
        elif name in _DECIMALS:
            out[name] = Decimal(value)
        elif name in _TIMES:
            out[name] = _timestamp(value)
        else:
            out[name] = value
    return out


class ParquetRowWriter:
    """Writes FOCUS rows to a Parquet file (a context manager; the file is whole on exit)."""

    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")
        self._pending: list[dict[str, Any]] = []

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._pending.extend(typed(r) for r in rows)
        if len(self._pending) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, schema=SCHEMA))
            self._pending = []

    def __enter__(self) -> ParquetRowWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self._flush()
        self._writer.close()


def write_focus_parquet(
    conn: Connection, pricing: PricingEngine, start: date, end: date, out: Path
) -> ExportSummary:
    """Write the rows of `aifinops.export.focus.write_focus_csv` to the Parquet file ``out``."""
    summary = ExportSummary()
    with ParquetRowWriter(out) as writer:
        for rows in focus_rows(conn, pricing, start, end, summary):
            writer.write(rows)
    return summary
