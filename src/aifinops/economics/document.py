"""The economics report document (`report outcomes`, ``/api/v1/economics``).

``{"rows", "totals", "meta"}`` as the contract in DESIGN.md says: one flat object per
group, money as decimal strings in ``*_usd`` fields. Each row carries a one-line
recommendation:

- ``check evals``: no outcome recorded for the spend (nothing to judge by), or cost per
  successful outcome is rising while mean quality falls (usually broken evals);
- ``kill``: outcomes but none successful, or a successful outcome costs more than its
  yardstick (ratio above 1) or more than the value it generated (value share above 1);
- ``fix the cost``: status ``review`` or ``watch``, or cost per outcome rising;
- ``keep``: otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from aifinops.economics.numbers import (
    EconomicsResult,
    GroupFigures,
    Key,
    cache_hit_rate,
    daily_trends,
    ratio_status,
    settings_for,
)
from aifinops.economics.settings import EconomicsSettings, FeatureEconomics
from aifinops.economics.trend import METHOD, Trend
from aifinops.money import nusd_to_usd

NO_SUCCESS = "no successful outcome"


def _usd_per(numerator_nusd: int, count: int) -> str | None:
    return nusd_to_usd(round(Fraction(numerator_nusd, count))) if count else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def recommend(row: dict[str, Any], cost: Trend, quality: Trend) -> tuple[str, str]:
    """(recommendation, why) for one row: the first rule that applies (module docstring)."""
    ratio, share = row["_ratio"], row["_value_share"]
    quality_falls = quality.direction == "falling" or (quality.slope_per_day or 0) < 0
    rules: tuple[tuple[bool, str, str], ...] = (
        (
            row["outcomes"] == 0 and row["_spend_nusd"] == 0,
            "keep",
            "no spend and no outcomes in the period",
        ),
        (
            row["outcomes"] == 0,
            "check evals",
            "spend with no outcome recorded: send outcome events to judge it",
        ),
        (row["successes"] == 0, "kill", "outcomes recorded but none successful"),
        (
            cost.direction == "rising" and quality_falls,
            "check evals",
            "cost per outcome rising while quality falls",
        ),
        (
            ratio is not None and ratio > 1,
            "kill",
            "a successful outcome costs more than its yardstick",
        ),
        (share is not None and share > 1, "kill", "spend exceeds the value generated"),
        (
            row["status"] == "review",
            "fix the cost",
            "cost per successful outcome above the red line",
        ),
        (
            row["status"] == "watch",
            "fix the cost",
            "cost per successful outcome between target and red line",
        ),
        (cost.direction == "rising", "fix the cost", "cost per successful outcome rising"),
    )
    for applies, action, why in rules:
        if applies:
            return action, why
    return "keep", "within target" if row["status"] == "healthy" else "no yardstick set"


def _value_nusd(figures: GroupFigures, feature: FeatureEconomics | None) -> int | None:
    outcomes = figures.outcomes
    if outcomes["valued"]:
        return outcomes["value_nusd"]
    if feature is not None and feature.value_per_outcome_nusd is not None:
        return outcomes["successes"] * feature.value_per_outcome_nusd
    return None


def _row(
    key: Key, figures: GroupFigures, result: EconomicsResult, economics: EconomicsSettings
) -> dict[str, Any]:
    by = result.columns
    feature = settings_for(key, by, economics)
    spend = figures.spend["effective_cost_nusd"]
    out = figures.outcomes
    row: dict[str, Any] = {name: (key[i] or None) for i, name in enumerate(by)}
    row.update(
        {
            "outcome_type": feature.outcome_type if feature else None,
            "spend_usd": nusd_to_usd(spend),
            "list_cost_usd": nusd_to_usd(figures.spend["list_cost_nusd"]),
            "calls": figures.spend["calls"],
            "errors": figures.spend["errors"],
            "unpriced_calls": figures.spend["unpriced_calls"],
            "outcomes": out["outcomes"],
            "successes": out["successes"],
            "success_rate": _rate(out["successes"], out["outcomes"]),
            "cost_per_outcome_usd": _usd_per(spend, out["outcomes"]),
            "cost_per_successful_outcome_usd": _usd_per(spend, out["successes"]),
        }
    )
    yardstick = feature.yardstick_nusd if feature else None
    ratio: Fraction | None = None
    if yardstick and out["successes"]:
        ratio = Fraction(spend, out["successes"] * yardstick)
    value = _value_nusd(figures, feature)
    share = Fraction(spend, value) if value else None
    status = None
    if ratio is not None and feature is not None:
        status = ratio_status(ratio, feature)
    elif feature is not None and yardstick and spend and not out["successes"]:
        status = "review"
    row.update(
        {
            "yardstick": feature.yardstick if feature else None,
            "human_cost_usd": nusd_to_usd(feature.human_cost_nusd) if feature else None,
            "value_per_outcome_usd": nusd_to_usd(feature.value_per_outcome_nusd)
            if feature
            else None,
            "human_cost_ratio": round(float(ratio), 4) if ratio is not None else None,
            "target_ratio": float(feature.target_ratio) if feature else None,
            "red_line": float(feature.red_line) if feature else None,
            "status": status,
            "value_usd": nusd_to_usd(value),
            "value_share": round(float(share), 4) if share is not None else None,
            "mean_quality": round(out["quality_micros"] / out["graded"] / 1e6, 4)
            if out["graded"]
            else None,
            "cache_hit_rate": _rounded(cache_hit_rate(figures.spend)),
            "open_units": figures.open_units,
            "open_unit_spend_usd": nusd_to_usd(figures.open_unit_spend_nusd),
            "_spend_nusd": spend,
            "_ratio": ratio,
            "_value_share": share,
        }
    )
    cost_trend, quality_trend = daily_trends(figures, result.window)
    row.update(
        {
            "trend": cost_trend.direction,
            "trend_slope_usd_per_day": _rounded(cost_trend.slope_per_day, 9),
            "trend_p_value": _rounded(cost_trend.p_value),
            "trend_days": cost_trend.days,
            "quality_trend": quality_trend.direction,
        }
    )
    row["recommendation"], row["reason"] = recommend(row, cost_trend, quality_trend)
    if not out["successes"]:
        row["note"] = NO_SUCCESS
    else:
        row["note"] = None
    return row


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def _series(figures: GroupFigures, window: tuple[date, date]) -> list[dict[str, Any]]:
    points = []
    day = window[0]
    while day <= window[1]:
        spend = figures.daily_spend.get(day)
        out = figures.daily_outcomes.get(day)
        spent = spend["effective_cost_nusd"] if spend else 0
        successes = out["successes"] if out else 0
        points.append(
            {
                "day": day.isoformat(),
                "spend_usd": nusd_to_usd(spent),
                "outcomes": out["outcomes"] if out else 0,
                "successes": successes,
                "cost_per_successful_outcome_usd": _usd_per(spent, successes),
                "success_rate": _rate(successes, out["outcomes"]) if out else None,
                "mean_quality": round(out["quality_micros"] / out["graded"] / 1e6, 4)
                if out and out["graded"]
                else None,
                "cache_hit_rate": _rounded(cache_hit_rate(spend)) if spend else None,
            }
        )
        day += timedelta(days=1)
    return points


def economics_document(result: EconomicsResult, economics: EconomicsSettings) -> dict[str, Any]:
    rows = [_row(key, figures, result, economics) for key, figures in result.groups.items()]
    rows.sort(key=lambda r: (-r["_spend_nusd"], [str(r[c] or "") for c in result.columns]))
    spend = sum(f.spend["effective_cost_nusd"] for f in result.groups.values())
    outcomes = sum(f.outcomes["outcomes"] for f in result.groups.values())
    successes = sum(f.outcomes["successes"] for f in result.groups.values())
    totals = {
        "spend_usd": nusd_to_usd(spend),
        "list_cost_usd": nusd_to_usd(
            sum(f.spend["list_cost_nusd"] for f in result.groups.values())
        ),
        "calls": sum(f.spend["calls"] for f in result.groups.values()),
        "outcomes": outcomes,
        "successes": successes,
        "cost_per_successful_outcome_usd": _usd_per(spend, successes),
        "open_units": sum(f.open_units for f in result.groups.values()),
        "open_unit_spend_usd": nusd_to_usd(
            sum(f.open_unit_spend_nusd for f in result.groups.values())
        ),
    }
    query = result.query
    meta: dict[str, Any] = {
        "report": "outcomes",
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "by": list(query.by),
        "filters": dict(query.filters),
        "currency": "USD",
        "cost": "effective",
        "trend_window": [result.window[0].isoformat(), result.window[1].isoformat()],
        "trend_method": METHOD,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if query.series:
        meta["series"] = [
            {
                **{name: (key[i] or None) for i, name in enumerate(result.columns)},
                "points": _series(figures, result.window),
            }
            for key, figures in sorted(result.groups.items())
        ]
    for row in rows:
        for private in ("_spend_nusd", "_ratio", "_value_share"):
            del row[private]
    return {"rows": rows, "totals": totals, "meta": meta}
