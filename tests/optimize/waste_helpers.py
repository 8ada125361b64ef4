"""Hand-built traffic for the waste detectors: events written through the ledger writer
(so the waste rollup is filled at insert time), then the detectors run over a range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.ledger.writer import write_events
from aifinops.optimize.evals import EvalRecord, write_evals
from aifinops.optimize.waste.findings import Finding
from aifinops.optimize.waste.report import WasteQuery, find_waste
from aifinops.optimize.waste_settings import WasteSettings
from aifinops.pricing import PricingEngine
from aifinops.usage import event_from_record

DAY = date(2026, 11, 2)
#: Every saving counts, whatever its size, unless a test says otherwise.
ALL = WasteSettings(min_monthly_saving_usd=Decimal(0))

#: List prices in USD per million tokens, written out from the providers' price pages
#: independently of the pricing engine (× 1,000 is nano-USD per token).
USD_PER_MTOK: dict[str, dict[str, Decimal]] = {
    "claude-sonnet-4-5": {
        "input": Decimal(3),
        "cache_read": Decimal("0.3"),
        "cache_write_5m": Decimal("3.75"),
        "output": Decimal(15),
    },
    "claude-opus-4-1": {"input": Decimal(15), "output": Decimal(75)},
    "claude-haiku-4-5": {"input": Decimal(1), "output": Decimal(5)},
    "gpt-4.1": {"input": Decimal(2), "output": Decimal(8)},
    "gpt-4o-mini": {"input": Decimal("0.15"), "output": Decimal("0.6")},
}


def nusd(model: str, **tokens: int) -> int:
    """Exact nano-USD of token counts at `USD_PER_MTOK` (integral in these tests)."""
    total = sum(USD_PER_MTOK[model][k] * 1_000 * n for k, n in tokens.items())
    assert total == total.to_integral_value(), total
    return int(total)


def monthly(saving_nusd: int, days: int) -> str:
    """The monthly figure as the finding states it: × 30 / days, USD to the cent."""
    usd = Decimal(saving_nusd * 30) / days / 10**9
    return f"{usd.quantize(Decimal('0.01'), rounding='ROUND_HALF_UP')}"


def calls(
    n: int,
    *,
    feature: str,
    model: str,
    start: datetime | None = None,
    every: timedelta = timedelta(minutes=1),
    tag: str = "",
    **fields: Any,
) -> list[dict[str, Any]]:
    """n canonical records one ``every`` apart from ``start`` (DAY 10:00 UTC)."""
    first = start or datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC)
    provider = "openai" if model.startswith("gpt") else "anthropic"
    return [
        {
            "event_id": f"{feature}{tag}-{i:05d}",
            "ts": (first + every * i).isoformat(),
            "provider": provider,
            "model": model,
            "team": "growth",
            "feature": feature,
            "prompt_version": "v1",
            "max_tokens": 1024,
            "status": 200,
            "stop_reason": "end_turn" if provider == "anthropic" else "stop",
            **fields,
        }
        for i in range(n)
    ]


def record(engine: Engine, *batches: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for rows in batches:
            write_events(conn, [event_from_record(r) for r in rows])


def add_evals(engine: Engine, feature: str, scores: dict[str, str], version: str = "v1") -> None:
    write_evals(
        engine,
        [
            EvalRecord(feature, m, version, "accuracy", Decimal(s), 200, date(2026, 11, 1))
            for m, s in scores.items()
        ],
        "test",
    )


def waste(
    engine: Engine,
    kind: str | None = None,
    settings: WasteSettings = ALL,
    start: date = DAY,
    end: date = DAY,
    team: str | None = None,
) -> list[Finding]:
    with engine.connect() as conn:
        found = find_waste(conn, PricingEngine(), settings, WasteQuery(start, end, team=team))
    return [f for f in found if kind is None or f.kind == kind]
