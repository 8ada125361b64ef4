"""The reconciliation report: `{"rows", "totals", "meta"}` as the contract in DESIGN.md says.

One flat row per day × provider × model; money as decimal USD strings in ``*_usd``
fields (null when unknown, never $0), tokens as integers, ``coverage`` and
``price_drift_pct`` as fractions rounded to 4 places.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aifinops.ingest.reconcile import TOKEN_KINDS, ReconcileLine, ReconcileResult
from aifinops.money import nusd_to_usd


def _ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 4)


def line_row(line: ReconcileLine, flagged: bool) -> dict[str, Any]:
    coverage = line.coverage
    row: dict[str, Any] = {
        "day": line.day.isoformat(),
        "provider": line.provider,
        "model": line.model,
        "billed_cost_usd": nusd_to_usd(line.billed_cost_nusd),
        "provider_list_cost_usd": nusd_to_usd(line.provider_list_cost_nusd),
        "ledger_list_cost_usd": nusd_to_usd(line.ledger_list_cost_nusd),
        "ledger_effective_cost_usd": nusd_to_usd(line.ledger_effective_cost_nusd),
        "coverage": None if coverage is None else round(coverage, 4),
        "explained_cost_usd": nusd_to_usd(line.explained_cost_nusd),
        "untracked_cost_usd": nusd_to_usd(line.untracked_cost_nusd),
        "price_drift_usd": nusd_to_usd(line.price_drift_nusd),
        "price_drift_pct": _ratio(line.price_drift_nusd, line.provider_list_cost_nusd),
        "provider_requests": line.provider_requests,
        "ledger_calls": line.ledger_calls,
    }
    for kind in TOKEN_KINDS:
        row[f"provider_{kind}"] = (
            None if line.provider_tokens is None else line.provider_tokens[kind]
        )
        row[f"ledger_{kind}"] = line.ledger_tokens[kind]
    row["provider_unpriced"] = line.provider_unpriced
    row["flagged"] = flagged
    return row


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _totals(result: ReconcileResult) -> dict[str, Any]:
    lines = result.lines
    billed = _sum([x.billed_cost_nusd for x in lines])
    priced = [x for x in lines if x.price_drift_nusd is not None]
    drift = _sum([x.price_drift_nusd for x in priced])
    drift_base = _sum([x.provider_list_cost_nusd for x in priced])
    explained = _sum([x.explained_cost_nusd for x in lines])
    untracked = _sum([x.untracked_cost_nusd for x in lines])
    ledger_effective = sum(x.ledger_effective_cost_nusd for x in lines)
    return {
        "billed_cost_usd": nusd_to_usd(billed),
        "ledger_list_cost_usd": nusd_to_usd(sum(x.ledger_list_cost_nusd for x in lines)),
        "ledger_effective_cost_usd": nusd_to_usd(ledger_effective),
        "explained_cost_usd": nusd_to_usd(explained),
        "untracked_cost_usd": nusd_to_usd(untracked),
        "coverage": _ratio(explained, billed),
        "price_drift_usd": nusd_to_usd(drift),
        "price_drift_pct": _ratio(drift, drift_base),
        "flagged_days": len({f.day for f in result.flagged}),
    }


def reconcile_document(result: ReconcileResult, month: str | None = None) -> dict[str, Any]:
    flagged = {(f.day, f.provider) for f in result.flagged}
    return {
        "rows": [line_row(x, (x.day, x.provider) in flagged) for x in result.lines],
        "totals": _totals(result),
        "meta": {
            "report": "reconcile",
            "month": month,
            "from": result.start.isoformat(),
            "to": result.end.isoformat(),
            "threshold_pct": result.threshold_pct,
            "providers_reported": list(result.providers_reported),
            "flagged": [
                {
                    "day": f.day.isoformat(),
                    "provider": f.provider,
                    "billed_cost_usd": nusd_to_usd(f.billed_cost_nusd),
                    "ledger_effective_cost_usd": nusd_to_usd(f.ledger_effective_cost_nusd),
                    "reasons": list(f.reasons),
                }
                for f in result.flagged
            ],
            "currency": "USD",
            "source": "rollup_hourly, provider_usage, provider_costs",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        },
    }
