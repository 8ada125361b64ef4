"""AWS CUR 2.0 rows for Bedrock → provider costs by usage type (``source`` ``bedrock:cur``).

CUR 2.0 (Data Exports) writes one line item per usage type, account, resource and
hour or day. Rows whose ``line_item_product_code`` (or ``product_servicecode`` /
``product_product_name``) names Bedrock are kept; others are counted and skipped. The
usage type carries the region, the model and the token kind, e.g.
``USE1-Claude4.6Sonnet-input-tokens``, ``…-output-tokens``,
``…-cache-read-input-token-count``, ``…-cache-write-input-token-count``
(``*-mantle-input-tokens-*`` too); it is split into ``model`` and ``token_type``
where it has that shape and kept whole in ``line_item`` always.

Cost is ``line_item_unblended_cost`` (USD; a ``line_item_currency_code`` other than USD
is reported, not stored); ``line_item_usage_amount`` is kept as the quantity. Rows of
one day with the same account, usage type, line-item type, resource and IAM principal
are summed. Importing a file replaces every Bedrock CUR day it contains, so
re-importing a restated month replaces it and never doubles it.

CSV (optionally ``.gz``) or Parquet (what Data Exports writes by default). In Parquet
the costs are doubles (read through their shortest decimal text, as the CSV has them),
the dates timestamps, and the ``product`` and ``resource_tags`` maps are flattened
into the legacy column names (``product`` key ``servicecode`` → ``product_servicecode``)
unless a column of that name exists.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.ingest.provider_store import CostRow, Problem, replace_days
from aifinops.ingest.report_fields import ReportFieldError, decimal
from aifinops.money import NANO_PER_USD
from aifinops.usage import RecordError, parse_ts

SOURCE = "bedrock:cur"
PROVIDER = "bedrock"
REQUIRED = ("line_item_usage_start_date", "line_item_usage_type", "line_item_unblended_cost")
_USAGE_TYPE = re.compile(
    r"^(?:(?P<region>[A-Z]{2,4}\d?)-)?(?P<model>.+?)-(?P<kind>"
    r"mantle-input-tokens|input-tokens|output-tokens|"
    r"cache-read-input-token-count|cache-write-input-token-count)(?P<rest>.*)$"
)
_KINDS = {
    "mantle-input-tokens": "input",
    "input-tokens": "input",
    "output-tokens": "output",
    "cache-read-input-token-count": "cache_read",
    "cache-write-input-token-count": "cache_write",
}
_DIMS = (
    ("line_item_line_item_type", "line_item_type"),
    ("line_item_operation", "operation"),
    ("line_item_resource_id", "resource_id"),
    ("line_item_iam_principal", "iam_principal"),
    ("product_region_code", "region_code"),
)


class CurFileError(ValueError):
    """The file cannot be read as CUR 2.0 (names the column or the fix)."""


@dataclass(slots=True)
class CurImportSummary:
    rows: int = 0
    bedrock_rows: int = 0
    skipped_other_services: int = 0
    rejected: int = 0
    stored: int = 0
    days: list[date] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def split_usage_type(usage_type: str) -> tuple[str | None, str | None, str | None]:
    """``USE1-Claude4.6Sonnet-input-tokens`` → (``USE1``, ``Claude4.6Sonnet``, ``input``)."""
    match = _USAGE_TYPE.match(usage_type)
    if match is None:
        return None, None, None
    return match["region"], match["model"], _KINDS[match["kind"]]


def is_bedrock(row: Mapping[str, Any]) -> bool:
    for name in ("line_item_product_code", "product_servicecode", "product_product_name"):
        value = str(row.get(name) or "")
        if "bedrock" in value.lower():
            return True
    return False


def parse_cur_row(row: Mapping[str, Any]) -> CostRow:
    """One CUR 2.0 line item (already known to be Bedrock) → `CostRow`."""
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise ReportFieldError(name, "is missing")
    currency = str(row.get("line_item_currency_code") or "USD")
    if currency.upper() != "USD":
        raise ReportFieldError(
            "line_item_currency_code",
            f"{currency!r} is not USD; aifinops keeps money in USD and has no exchange rate",
        )
    try:
        day = parse_ts(row["line_item_usage_start_date"], "line_item_usage_start_date").date()
    except RecordError as exc:
        raise ReportFieldError(exc.field, exc.reason) from None
    cost = decimal(row["line_item_unblended_cost"], "line_item_unblended_cost")
    usage_type = str(row["line_item_usage_type"])
    region, model, token_type = split_usage_type(usage_type)
    amount = row.get("line_item_usage_amount")
    dims = [(out, str(row[name])) for name, out in _DIMS if row.get(name) not in (None, "")]
    if region:
        dims.append(("usage_region", region))
    return CostRow(
        day=day,
        cost_nusd=int((cost * NANO_PER_USD).to_integral_value(rounding=ROUND_HALF_UP)),
        account_id=str(row.get("line_item_usage_account_id") or "") or None,
        line_item=usage_type,
        model=model,
        cost_type=str(row.get("line_item_line_item_type") or "") or None,
        token_type=token_type,
        quantity=str(decimal(amount, "line_item_usage_amount"))
        if amount not in (None, "")
        else None,
        extra_dims=tuple(dims),
    )


def _add(into: dict[str, CostRow], row: CostRow) -> None:
    found = into.get(row.key)
    if found is None:
        into[row.key] = row
        return
    quantity = None
    if found.quantity is not None or row.quantity is not None:
        quantity = str(Decimal(found.quantity or "0") + Decimal(row.quantity or "0"))
    into[row.key] = replace(found, cost_nusd=found.cost_nusd + row.cost_nusd, quantity=quantity)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        header = reader.fieldnames or []
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise CurFileError(
                f"{path}: column {missing[0]} is missing; export CUR 2.0 (Data Exports) "
                "with the line_item_* columns"
            )
        for record in reader:
            yield reader.line_num, dict(record)


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Map and struct columns (``product``, ``resource_tags``) as ``<column>_<key>``."""
    out = dict(record)
    for column, value in record.items():
        pairs: list[Any] = []
        if isinstance(value, Mapping):
            pairs = list(value.items())
        elif isinstance(value, list) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            pairs = value
        for key, item in pairs:
            out.setdefault(f"{column}_{key}", item)
    return out


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # imported here: pyarrow takes a quarter of a second to load, which every other
    # command of the CLI would pay
    parquet: Any = importlib.import_module("pyarrow.parquet")
    try:
        source = parquet.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise CurFileError(
            f"{path}: not a readable Parquet file ({exc}); give a CUR 2.0 file as Data "
            "Exports writes it (Parquet, or CSV)"
        ) from None
    missing = [name for name in REQUIRED if name not in source.schema_arrow.names]
    if missing:
        raise CurFileError(
            f"{path}: column {missing[0]} is missing; export CUR 2.0 (Data Exports) "
            "with the line_item_* columns"
        )
    number = 0
    for batch in source.iter_batches():
        for record in batch.to_pylist():
            number += 1
            yield number, _flatten(record)


def read_cur(
    path: Path, on_problem: Callable[[Problem], None]
) -> tuple[dict[date, dict[str, CostRow]], CurImportSummary]:
    """Bedrock cost rows of a CUR file by day, summed by key (no I/O beyond reading)."""
    summary = CurImportSummary()
    by_day: dict[date, dict[str, CostRow]] = {}
    rows = _parquet_rows(path) if path.suffix.lower() == ".parquet" else _csv_rows(path)
    for number, record in rows:
        summary.rows += 1
        if not is_bedrock(record):
            summary.skipped_other_services += 1
            continue
        summary.bedrock_rows += 1
        try:
            row = parse_cur_row(record)
        except ReportFieldError as exc:
            problem = Problem(f"{path.name}:{number}", f"{exc}; row skipped")
            summary.rejected += 1
            summary.problems.append(problem)
            on_problem(problem)
            continue
        _add(by_day.setdefault(row.day, {}), row)
    return by_day, summary


def import_cur_file(
    db: Engine, path: Path, *, on_problem: Callable[[Problem], None] = lambda _p: None
) -> CurImportSummary:
    """Read a CUR 2.0 file and replace the Bedrock CUR days it contains."""
    by_day, summary = read_cur(path, on_problem)
    summary.stored = replace_days(
        db, SOURCE, PROVIDER, {day: list(rows.values()) for day, rows in by_day.items()}
    )
    summary.days = sorted(by_day)
    return summary
