"""Outcome events: validation, and idempotent batch writes with their rollups.

An outcome is ``outcome_id`` (idempotency key), ``unit_id``, ``feature``,
``customer_id``, ``type``, ``success``, ``value_usd`` (optional), ``quality`` (0–1,
optional) and ``ts``. Writing a batch, in one transaction:

1. insert the outcomes whose id is new (``ON CONFLICT DO NOTHING … RETURNING``, so
   only rows this writer really inserted are counted, even when writers race);
2. add exactly those to ``outcome_daily`` (per UTC day of the outcome's ``ts``);
3. count them on their unit in ``unit_rollup``.

``team`` and ``prompt_version`` come from the unit's recorded calls (``unit_rollup``),
else the team from the feature's economics settings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from aifinops.ingest.events import BATCH_ROWS
from aifinops.ingest.files import Rejection, Row
from aifinops.ledger.schema_economics import (
    OUTCOME_DIMENSIONS,
    OUTCOME_MEASURES,
    outcome_daily,
    outcomes,
    unit_rollup,
)
from aifinops.money import usd_to_nusd
from aifinops.usage import RecordError, parse_ts

OUTCOME_FIELDS: tuple[str, ...] = (
    "outcome_id",
    "unit_id",
    "feature",
    "customer_id",
    "type",
    "success",
    "value_usd",
    "quality",
    "ts",
)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LOOKUP_CHUNK = 500


@dataclass(slots=True)
class OutcomeSummary:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0


def _text(name: str, value: object, *, required: bool = False, limit: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(name, "is required (a non-empty string)", value)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(name, f"must be a string, got {value!r}", value)
    text = str(value).strip()
    if len(text) > limit:
        raise RecordError(name, f"must be at most {limit} characters", value)
    return text


def _success(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if value is None or value == "":
        raise RecordError("success", "is required (true or false)", value)
    raise RecordError("success", f"must be true or false, got {value!r}", value)


def _value_nusd(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecordError("value_usd", f"must be a decimal USD amount, got {value!r}", value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(
            "value_usd", f'{value!r} is not a decimal USD amount (e.g. "40.00")', value
        ) from None
    if not amount.is_finite() or amount < 0:
        raise RecordError("value_usd", f"must be zero or more, got {value!r}", value)
    return usd_to_nusd(amount)


def _quality_micros(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecordError("quality", f"must be a number from 0 to 1, got {value!r}", value)
    try:
        score = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError("quality", f"{value!r} is not a number from 0 to 1", value) from None
    if not score.is_finite() or not 0 <= score <= 1:
        raise RecordError("quality", f"must be from 0 to 1, got {value!r}", value)
    return int((score * 1_000_000).to_integral_value(rounding="ROUND_HALF_UP"))


def outcome_from_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A validated outcome row (``outcomes`` columns) or `RecordError` naming the field."""
    return {
        "outcome_id": _text("outcome_id", data.get("outcome_id"), required=True),
        "unit_id": _text("unit_id", data.get("unit_id")),
        "feature": _text("feature", data.get("feature"), required=True),
        "customer_id": _text("customer_id", data.get("customer_id")),
        "type": _text("type", data.get("type"), limit=100),
        "success": _success(data.get("success")),
        "value_nusd": _value_nusd(data.get("value_usd")),
        "quality_micros": _quality_micros(data.get("quality")),
        "ts": parse_ts(data.get("ts")),
    }


def _insert(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(outcomes).on_conflict_do_nothing(index_elements=["outcome_id"])


def _unit_attribution(conn: Connection, unit_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """unit_id → (team, prompt_version) of the units already recorded."""
    found: dict[str, tuple[str, str]] = {}
    stmt = select(unit_rollup.c.unit_id, unit_rollup.c.team, unit_rollup.c.prompt_version).where(
        unit_rollup.c.unit_id.in_(bindparam("ids", expanding=True))
    )
    for lo in range(0, len(unit_ids), _LOOKUP_CHUNK):
        for unit, team, version in conn.execute(stmt, {"ids": unit_ids[lo : lo + _LOOKUP_CHUNK]}):
            found[unit] = (team, version)
    return found


def _day_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    ts: datetime = row["ts"]
    return (ts.date(), *(row[d] or "" for d in OUTCOME_DIMENSIONS))


def _rollup_deltas(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(OUTCOME_MEASURES))
    for row in rows:
        acc = sums[_day_key(row)]
        acc[0] += 1
        acc[1] += 1 if row["success"] else 0
        if row["value_nusd"] is not None:
            acc[2] += 1
            acc[3] += row["value_nusd"]
        if row["quality_micros"] is not None:
            acc[4] += 1
            acc[5] += row["quality_micros"]
    keys = ("day", *OUTCOME_DIMENSIONS)
    return [
        {**dict(zip(keys, key, strict=True)), **dict(zip(OUTCOME_MEASURES, acc, strict=True))}
        for key, acc in sums.items()
    ]


def _upsert_daily(conn: Connection, deltas: list[dict[str, Any]]) -> None:
    if not deltas:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(outcome_daily)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", *OUTCOME_DIMENSIONS],
        set_={m: outcome_daily.c[m] + stmt.excluded[m] for m in OUTCOME_MEASURES},
    )
    conn.execute(stmt, deltas)


def write_outcomes(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    feature_teams: Mapping[str, str] | None = None,
) -> int:
    """Insert validated outcome rows (see `outcome_from_record`), skipping ids already
    recorded; returns how many were new. Run inside a transaction."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_id.setdefault(row["outcome_id"], row)
    if not by_id:
        return 0
    units = sorted({r["unit_id"] for r in by_id.values() if r["unit_id"]})
    known = _unit_attribution(conn, units)
    teams = feature_teams or {}
    received = datetime.now(UTC)
    params = []
    for row in by_id.values():
        team, version = known.get(row["unit_id"] or "", (None, None))
        params.append(
            {
                **row,
                "team": team or teams.get(row["feature"]),
                "prompt_version": version or None,
                "received_at": received,
            }
        )
    result = conn.execute(_insert(conn).returning(outcomes.c.outcome_id), params)
    new_ids = {r[0] for r in result}
    new = [p for p in params if p["outcome_id"] in new_ids]
    _upsert_daily(conn, _rollup_deltas(new))
    per_unit: dict[str, int] = defaultdict(int)
    for row in new:
        if row["unit_id"] and row["unit_id"] in known:
            per_unit[row["unit_id"]] += 1
    if per_unit:
        conn.execute(
            update(unit_rollup)
            .where(unit_rollup.c.unit_id == bindparam("u"))
            .values(outcomes=unit_rollup.c.outcomes + bindparam("n")),
            [{"u": u, "n": n} for u, n in per_unit.items()],
        )
    return len(new)


def import_outcome_rows(
    db: Engine,
    rows: Iterable[Row],
    *,
    on_reject: Callable[[Rejection], None],
    feature_teams: Mapping[str, str] | None = None,
    on_batch: Callable[[OutcomeSummary], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    write: bool = True,
) -> OutcomeSummary:
    """Validate and import numbered rows in batches; bad rows go to ``on_reject``.

    With ``write`` false nothing is written (``--strict``'s first pass).
    """
    summary = OutcomeSummary()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch and write:
            with db.begin() as conn:
                inserted = write_outcomes(conn, batch, feature_teams)
            summary.imported += inserted
            summary.duplicates += len(batch) - inserted
        batch.clear()
        if on_batch is not None:
            on_batch(summary)

    for row in rows:
        summary.rows += 1
        if row.data is None:
            summary.rejected += 1
            on_reject(Rejection(row.line, None, row.error or "unreadable row"))
            continue
        try:
            batch.append(outcome_from_record(row.data))
        except RecordError as exc:
            summary.rejected += 1
            on_reject(Rejection(row.line, exc.field, exc.reason))
            continue
        if len(batch) >= batch_rows:
            flush()
    flush()
    return summary
