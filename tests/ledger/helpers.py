"""Building events for ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aifinops.pricing import PricingEngine
from aifinops.usage import flat_from_record

PRICING = PricingEngine()


def row(i: int, **overrides: Any) -> dict[str, Any]:
    """A priced flat row; ``i`` varies the id, hour, team and customer."""
    record: dict[str, Any] = {
        "event_id": f"ev-{i}",
        "ts": datetime(2026, 11, 1 + i % 3, i % 24, 30, tzinfo=UTC).isoformat(),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "team": ["support", "sales"][i % 2],
        "feature": "f1",
        "customer_id": f"c{i % 4}",
        "input_tokens": 1000 + i,
        "output_tokens": 100,
    }
    record.update(overrides)
    flat = flat_from_record(record)
    cost = PRICING.price(
        flat["provider"], flat["model"], flat["ts"], _usage(flat), batch=flat["batch"]
    )
    flat["list_cost_nusd"] = cost.list_cost_nusd
    flat["effective_cost_nusd"] = cost.effective_cost_nusd
    flat["price_version"] = cost.price_version
    flat["unpriced"] = cost.unpriced
    return flat


def _usage(flat: dict[str, Any]) -> Any:
    from aifinops.usage import TOKEN_FIELDS, Usage

    return Usage(*(flat[n] for n in TOKEN_FIELDS))
