"""A hand-built month: calls with exact costs and outcomes, written through the real writers."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.economics.outcomes import outcome_from_record, write_outcomes
from aifinops.ledger.writer import write_events
from aifinops.usage import event_from_record

USD = 1_000_000_000  # nano-USD per USD
_ids = itertools.count(1)


def at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def call(
    day: date,
    cost_nusd: int,
    *,
    feature: str | None = "bot",
    team: str | None = "support",
    customer: str | None = "acme",
    unit: str | None = None,
    version: str | None = "v1",
    hour: int = 12,
    **extra: Any,
) -> tuple[dict[str, Any], int]:
    record = {
        "event_id": f"ev-{next(_ids)}",
        "ts": at(day, hour),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "team": team,
        "feature": feature,
        "customer_id": customer,
        "unit_id": unit,
        "prompt_version": version,
        "input_tokens": 100,
        **extra,
    }
    return record, cost_nusd


def write_calls(engine: Engine, calls: list[tuple[dict[str, Any], int]]) -> None:
    events = [event_from_record(r) for r, _ in calls]
    costs = [(c, c, "test") for _, c in calls]
    with engine.begin() as conn:
        write_events(conn, events, costs)


def outcome(
    outcome_id: str,
    unit: str | None,
    day: date,
    success: bool,
    *,
    feature: str = "bot",
    customer: str | None = "acme",
    value: str | None = None,
    quality: float | None = None,
    hour: int = 13,
) -> dict[str, Any]:
    return {
        "outcome_id": outcome_id,
        "unit_id": unit,
        "feature": feature,
        "customer_id": customer,
        "type": "resolution",
        "success": success,
        "value_usd": value,
        "quality": quality,
        "ts": at(day, hour),
    }


def write_outcome_records(
    engine: Engine, records: list[dict[str, Any]], teams: dict[str, str] | None = None
) -> int:
    with engine.begin() as conn:
        return write_outcomes(conn, [outcome_from_record(r) for r in records], teams)
