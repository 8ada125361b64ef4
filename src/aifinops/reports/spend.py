"""The spend report: `{"rows", "totals", "meta"}` as the contract in DESIGN.md says.

Money is a decimal string in USD in fields ending ``_usd``; token counts are integers;
one flat object per row; ``share_of_total`` is the row's share of effective cost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aifinops.ledger.queries import SpendQuery, SpendResult
from aifinops.money import nusd_to_usd
from aifinops.usage import TOKEN_FIELDS

TOKEN_MEASURES: tuple[str, ...] = TOKEN_FIELDS
COUNT_MEASURES: tuple[str, ...] = ("calls", "errors", "unpriced_calls", "unpriced_tokens")


def _measures(values: dict[str, Any], total_effective: int) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(values[k]) for k in (*COUNT_MEASURES[:1], *TOKEN_MEASURES)}
    out["list_cost_usd"] = nusd_to_usd(int(values["list_cost_nusd"]))
    out["effective_cost_usd"] = nusd_to_usd(int(values["effective_cost_nusd"]))
    share = values["effective_cost_nusd"] / total_effective if total_effective else 0.0
    out["share_of_total"] = round(share, 4)
    out.update({k: int(values[k]) for k in COUNT_MEASURES[1:]})
    return out


def _dimension_value(name: str, value: object) -> object:
    if name == "day":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    return value if value != "" else None


def spend_document(query: SpendQuery, result: SpendResult) -> dict[str, Any]:
    total_effective = result.totals["effective_cost_nusd"]
    rows = []
    for row in result.rows:
        flat = {name: _dimension_value(name, row[name]) for name in result.columns}
        flat.update(_measures(row, total_effective))
        rows.append(flat)
    return {
        "rows": rows,
        "totals": _measures(result.totals, total_effective),
        "meta": {
            "report": "spend",
            "from": query.start.isoformat(),
            "to": query.end.isoformat(),
            "by": list(query.by),
            "top": query.top,
            "filters": dict(query.filters),
            "currency": "USD",
            "source": "rollup_hourly",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        },
    }
