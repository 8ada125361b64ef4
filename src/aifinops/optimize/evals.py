"""Offline eval scores: parse a file, store idempotently, read the latest run.

An eval row is ``feature`` (or ``task``), ``model``, ``score`` (0–1, higher is better),
``sample_size`` (cases scored), and optionally ``prompt_version``, ``metric`` and
``date`` (or ``run_date``, ``YYYY-MM-DD``). Files are CSV (header first) or JSON: one
array of objects, or one object per line (JSONL).

A row is keyed by (feature, model, prompt version, metric, run date); importing a row
whose key is already stored skips it as a duplicate, so re-importing a file adds
nothing. To record a new result for the same key, give it a new date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from aifinops.ingest.files import Rejection, Row, iter_rows
from aifinops.ledger.schema_optimize import eval_scores
from aifinops.usage import RecordError

#: A rejected row: line number, field and what to fix.
RowError = Rejection

EVAL_FORMATS = ("csv", "json")
_SCORE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class EvalRecord:
    feature: str
    model: str
    prompt_version: str | None
    metric: str | None
    score: Decimal
    sample_size: int
    run_date: date | None


def _text(data: dict[str, Any], *names: str, required: bool, limit: int = 200) -> str | None:
    name = names[0]
    value: object = None
    for candidate in names:
        value = data.get(candidate)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            name = candidate
            break
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            alias = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
            raise RecordError(names[0], f"is required{alias}: a non-empty string", value)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(name, f"must be a string, got {value!r}", value)
    text = str(value).strip()
    if len(text) > limit:
        raise RecordError(name, f"must be at most {limit} characters", value)
    return text


def _score(value: object) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError("score", 'is required: a number from 0 to 1 (e.g. "0.95")', value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecordError("score", f"must be a number from 0 to 1, got {value!r}", value)
    try:
        score = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(
            "score", f'{value!r} is not a number; give a score from 0 to 1 (e.g. "0.95")', value
        ) from None
    if not score.is_finite() or not 0 <= score <= 1:
        raise RecordError(
            "score", f"must be from 0 to 1, got {value!r} (a percentage? divide by 100)", value
        )
    if score != score.quantize(_SCORE_PLACES):
        raise RecordError("score", f"at most 6 decimal places, got {value!r}", value)
    return score.normalize() if score else Decimal(0)


def _sample_size(value: object) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError("sample_size", "is required: the number of cases scored", value)
    if isinstance(value, bool):
        raise RecordError("sample_size", f"must be a whole number, got {value!r}", value)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise RecordError("sample_size", f"must be a whole number, got {value!r}", value) from None
    if number < 1:
        raise RecordError("sample_size", f"must be 1 or more, got {value!r}", value)
    return number


def _run_date(data: dict[str, Any]) -> date | None:
    name = "date" if data.get("date") not in (None, "") else "run_date"
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RecordError(name, f"must be a date YYYY-MM-DD, got {value!r}", value)
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise RecordError(name, f"{value!r} is not a date; use YYYY-MM-DD", value) from None


def eval_from_record(data: dict[str, Any]) -> EvalRecord:
    """A validated `EvalRecord`, or `RecordError` naming the field and the fix."""
    feature = _text(data, "feature", "task", required=True)
    model = _text(data, "model", required=True)
    assert feature is not None and model is not None
    return EvalRecord(
        feature=feature,
        model=model,
        prompt_version=_text(data, "prompt_version", required=False),
        metric=_text(data, "metric", required=False, limit=100),
        score=_score(data.get("score")),
        sample_size=_sample_size(data.get("sample_size")),
        run_date=_run_date(data),
    )


def parse_eval_rows(
    rows: Iterable[Row], source: str = ""
) -> tuple[list[EvalRecord], list[RowError]]:
    """Validate numbered rows: the good records, and one error per bad row (``source``
    is the file name, kept for symmetry with `write_evals`)."""
    del source
    records: list[EvalRecord] = []
    errors: list[RowError] = []
    for row in rows:
        if row.data is None:
            errors.append(Rejection(row.line, None, row.error or "unreadable row"))
            continue
        try:
            records.append(eval_from_record(row.data))
        except RecordError as exc:
            errors.append(Rejection(row.line, exc.field, exc.reason))
    return records, errors


def _json_rows(text: str) -> Iterator[Row]:
    stripped = text.lstrip()
    if not stripped.startswith("["):
        yield from iter_rows(text.splitlines(), "jsonl")
        return
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield Row(line=1, data=None, error=f"not valid JSON ({exc.msg})")
        return
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            yield Row(line=number, data=item)
        else:
            yield Row(line=number, data=None, error="each array item must be a JSON object")


def read_eval_file(path: Path, file_format: str | None = None) -> list[Row]:
    """Numbered rows of an eval file (CSV counts the header as line 1; a JSON array
    numbers its items from 1)."""
    fmt = file_format or ("csv" if path.suffix.lower() == ".csv" else "json")
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as stream:
            return list(iter_rows(stream, "csv"))
    return list(_json_rows(path.read_text(encoding="utf-8")))


def score_id(record: EvalRecord) -> str:
    key = "\x1f".join(
        (
            record.feature,
            record.model,
            record.prompt_version or "",
            record.metric or "",
            record.run_date.isoformat() if record.run_date else "",
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()


def write_evals(engine: Engine, records: Sequence[EvalRecord], source: str) -> tuple[int, int]:
    """Store records in one transaction; returns (imported, duplicates skipped)."""
    by_id: dict[str, EvalRecord] = {}
    for record in records:
        by_id.setdefault(score_id(record), record)
    if not by_id:
        return 0, len(records)
    now = datetime.now(UTC)
    params = [
        {
            "score_id": sid,
            "feature": r.feature,
            "model": r.model,
            "prompt_version": r.prompt_version or "",
            "metric": r.metric or "",
            "score": format(r.score, "f"),
            "sample_size": r.sample_size,
            "run_date": r.run_date,
            "source": source[:200],
            "imported_at": now,
        }
        for sid, r in by_id.items()
    ]
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(eval_scores).on_conflict_do_nothing(index_elements=["score_id"])
        inserted = len(list(conn.execute(stmt.returning(eval_scores.c.score_id), params)))
    return inserted, len(records) - inserted


def _record(row: Any) -> EvalRecord:
    return EvalRecord(
        feature=row.feature,
        model=row.model,
        prompt_version=row.prompt_version or None,
        metric=row.metric or None,
        score=Decimal(row.score),
        sample_size=int(row.sample_size),
        run_date=row.run_date,
    )


def _latest_key(record: EvalRecord) -> date:
    return record.run_date or date.min


def load_evals(source: Connection | Engine, feature: str | None = None) -> list[EvalRecord]:
    """The latest run per (feature, model, prompt version, metric), sorted by key.

    An undated row counts as older than any dated one.
    """
    stmt = select(eval_scores)
    if feature is not None:
        stmt = stmt.where(eval_scores.c.feature == feature)
    if isinstance(source, Engine):
        with source.connect() as conn:
            rows = list(conn.execute(stmt))
    else:
        rows = list(source.execute(stmt))
    latest: dict[tuple[str, str, str, str], EvalRecord] = {}
    for row in rows:
        record = _record(row)
        key = (record.feature, record.model, record.prompt_version or "", record.metric or "")
        held = latest.get(key)
        if held is None or _latest_key(record) > _latest_key(held):
            latest[key] = record
    return [latest[k] for k in sorted(latest)]


def best_scores(records: Iterable[EvalRecord]) -> dict[tuple[str, str], EvalRecord]:
    """(feature, model) → its best record: the highest score, then the largest sample,
    then the latest run (ties beyond that keep the first seen)."""
    best: dict[tuple[str, str], EvalRecord] = {}
    for record in records:
        key = (record.feature, record.model)
        held = best.get(key)
        if held is None or (record.score, record.sample_size, _latest_key(record)) > (
            held.score,
            held.sample_size,
            _latest_key(held),
        ):
            best[key] = record
    return best
