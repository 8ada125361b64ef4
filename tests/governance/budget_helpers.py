"""Calls with exact costs at exact seconds, written through the real ledger writer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.governance.budgets import Budget, parse_budget
from aifinops.ledger.writer import write_events
from aifinops.usage import event_from_record

USD = 1_000_000_000  # nano-USD per USD
_ids = itertools.count(1)


def utc(text: str) -> datetime:
    """``2026-10-31T23:59:59`` (UTC) → an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spend(
    engine: Engine,
    ts: str,
    effective_usd: str | int,
    *,
    list_usd: str | int | None = None,
    team: str | None = "support",
    feature: str | None = "bot",
    customer: str | None = "acme",
    key: str | None = None,
) -> None:
    """One call at ``ts`` (UTC, to the second) costing exactly ``effective_usd``."""
    effective = int(float(effective_usd) * USD)
    listed = effective if list_usd is None else int(float(list_usd) * USD)
    record: dict[str, Any] = {
        "event_id": f"budget-ev-{next(_ids)}",
        "ts": utc(ts).isoformat(),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "team": team,
        "feature": feature,
        "customer_id": customer,
        "api_key_id": key,
        "input_tokens": 100,
    }
    with engine.begin() as conn:
        write_events(conn, [event_from_record(record)], [(listed, effective, "test")])


def budget(**fields: Any) -> Budget:
    """A budget from definition fields (defaults: team support, 10 USD a month, UTC)."""
    raw = {"scope": "team", "name": "support", "amount_usd": "10", **fields}
    return parse_budget(raw)
