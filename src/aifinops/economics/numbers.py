"""The unit-economics numbers of a period, per feature (and customer, team, prompt version).

Everything is read from rollups kept at insert time: spend from ``rollup_daily`` (in
the period of each call), outcomes from ``outcome_daily`` (in the period of each
outcome's own ``ts``), open units from ``unit_rollup``. A `Scope` restricts every one of
them in the query, so a team or customer reader never sees another's rows.

- cost per successful outcome = effective spend of the group ÷ its successful outcomes
  (spend on failed attempts and failed outcomes counts);
- value share = spend ÷ value generated (``value_usd`` of the outcomes, else successes ×
  the feature's value per outcome);
- human-cost ratio = cost per successful outcome ÷ the feature's yardstick (human cost
  per outcome, else value per outcome); status ``healthy`` below ``target_ratio``,
  ``watch`` from it up to and including ``red_line``, ``review`` above — decided on exact
  fractions of nano-USD, never floats;
- the trend of the daily cost per successful outcome over the 30 days that end with the
  period (`aifinops.economics.trend`), beside success rate, mean quality and the
  prompt-cache hit rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, select
from sqlalchemy.engine import Connection

from aifinops.economics.settings import EconomicsSettings, FeatureEconomics
from aifinops.economics.trend import Trend, mann_kendall
from aifinops.ledger.queries import EVERYTHING, QueryError, Scope
from aifinops.ledger.schema import rollup_daily
from aifinops.ledger.schema_economics import outcome_daily, unit_rollup

#: Groupings beside ``feature`` (the first grouping, always) and their columns.
GROUPS: dict[str, str] = {
    "feature": "feature",
    "team": "team",
    "customer": "customer_id",
    "customer_id": "customer_id",
    "prompt_version": "prompt_version",
}
TREND_DAYS = 30
_SPEND = (
    "calls",
    "errors",
    "unpriced_calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "list_cost_nusd",
    "effective_cost_nusd",
)
_OUTCOMES = ("outcomes", "successes", "valued", "value_nusd", "graded", "quality_micros")

Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EconomicsQuery:
    start: date
    end: date  # inclusive
    by: tuple[str, ...] = ("feature",)
    filters: tuple[tuple[str, str], ...] = ()
    series: bool = False


@dataclass(slots=True)
class GroupFigures:
    """Sums of one group in the period, and its daily series over the trend window."""

    spend: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SPEND, 0))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OUTCOMES, 0))
    open_units: int = 0
    open_unit_spend_nusd: int = 0
    daily_spend: dict[date, dict[str, int]] = field(default_factory=dict)
    daily_outcomes: dict[date, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EconomicsResult:
    query: EconomicsQuery
    columns: tuple[str, ...]
    groups: dict[Key, GroupFigures]
    window: tuple[date, date]


def parse_by(text: str | Sequence[str]) -> tuple[str, ...]:
    """``feature`` first, then any of team, customer, prompt_version (each once)."""
    names = text.split(",") if isinstance(text, str) else list(text)
    out = ["feature"]
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in GROUPS:
            raise QueryError(
                "by", f"unknown dimension {raw!r}; use feature, team, customer, prompt_version"
            )
        if GROUPS[name] not in (GROUPS[o] for o in out):
            out.append(name)
    return tuple(out)


def _conditions(
    table: Table,
    day: ColumnElement[Any],
    lo: date,
    hi: date,
    query: EconomicsQuery,
    scope: Scope,
) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [day >= lo, day <= hi, *scope.where(table)]
    for name, value in query.filters:
        if name not in GROUPS:
            raise QueryError(
                name, "cannot filter on this; use feature, team, customer, prompt_version"
            )
        conds.append(table.c[GROUPS[name]] == value)
    return and_(*conds)


def _key(record: Mapping[str, Any], by: Sequence[str]) -> Key:
    return tuple(str(record[name] or "") for name in by)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _sums(
    conn: Connection,
    table: Table,
    measures: Sequence[str],
    query: EconomicsQuery,
    scope: Scope,
    lo: date,
    hi: date,
    daily: bool,
) -> list[dict[str, Any]]:
    keys = [table.c[GROUPS[name]].label(name) for name in query.by]
    if daily:
        keys.append(table.c.day.label("day"))
    sums = [func.sum(table.c[m]).label(m) for m in measures]
    stmt = (
        select(*keys, *sums)
        .where(_conditions(table, table.c.day, lo, hi, query, scope))
        .group_by(*keys)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def compute(conn: Connection, query: EconomicsQuery, scope: Scope = EVERYTHING) -> EconomicsResult:
    """Sum spend, outcomes and open units per group for the period and trend window."""
    if query.end < query.start:
        raise QueryError("to", f"{query.end} is before from ({query.start})")
    window = (query.end - timedelta(days=TREND_DAYS - 1), query.end)
    lo = min(query.start, window[0])
    groups: dict[Key, GroupFigures] = defaultdict(GroupFigures)
    for record in _sums(conn, rollup_daily, _SPEND, query, scope, lo, query.end, True):
        values = {m: int(record[m] or 0) for m in _SPEND}
        day = _day(record["day"])
        figures = groups[_key(record, query.by)]
        if day >= window[0]:
            figures.daily_spend[day] = values
        if day >= query.start:
            for m in _SPEND:
                figures.spend[m] += values[m]
    for record in _sums(conn, outcome_daily, _OUTCOMES, query, scope, lo, query.end, True):
        values = {m: int(record[m] or 0) for m in _OUTCOMES}
        day = _day(record["day"])
        figures = groups[_key(record, query.by)]
        if day >= window[0]:
            slot = figures.daily_outcomes.setdefault(day, dict.fromkeys(_OUTCOMES, 0))
            for m in _OUTCOMES:
                slot[m] += values[m]
        if day >= query.start:
            for m in _OUTCOMES:
                figures.outcomes[m] += values[m]
    _open_units(conn, query, scope, groups)
    return EconomicsResult(query, query.by, dict(groups), window)


def _open_units(
    conn: Connection, query: EconomicsQuery, scope: Scope, groups: dict[Key, GroupFigures]
) -> None:
    """Units whose first call is in the period and that have no outcome yet."""
    table = unit_rollup
    keys = [table.c[GROUPS[name]].label(name) for name in query.by]
    where = and_(
        _conditions(table, table.c.first_day, query.start, query.end, query, scope),
        table.c.outcomes == 0,
    )
    stmt = (
        select(*keys, func.count().label("units"), func.sum(table.c.effective_cost_nusd))
        .where(where)
        .group_by(*keys)
    )
    for record in conn.execute(stmt):
        figures = groups[tuple(str(v or "") for v in record[: len(keys)])]
        figures.open_units += int(record[-2])
        figures.open_unit_spend_nusd += int(record[-1] or 0)


# --- derived figures -----------------------------------------------------------------


def cache_hit_rate(spend: Mapping[str, int]) -> float | None:
    """Share of input tokens read from the prompt cache."""
    total = sum(
        spend[m]
        for m in (
            "input_tokens",
            "cache_read_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
        )
    )
    return spend["cache_read_tokens"] / total if total else None


def ratio_status(ratio: Fraction, feature: FeatureEconomics) -> str:
    """healthy below the target, watch from the target to the red line, review above."""
    if ratio < Fraction(feature.target_ratio):
        return "healthy"
    if ratio <= Fraction(feature.red_line):
        return "watch"
    return "review"


def daily_trends(figures: GroupFigures, window: tuple[date, date]) -> tuple[Trend, Trend]:
    """(cost per successful outcome, mean quality) trends over the window."""
    cost_days: list[int] = []
    costs: list[float] = []
    quality_days: list[int] = []
    qualities: list[float] = []
    day = window[0]
    while day <= window[1]:
        number = (day - window[0]).days
        outcome = figures.daily_outcomes.get(day)
        spent = figures.daily_spend.get(day, {}).get("effective_cost_nusd", 0)
        if outcome and outcome["successes"]:
            cost_days.append(number)
            costs.append(spent / outcome["successes"] / 1e9)
        if outcome and outcome["graded"]:
            quality_days.append(number)
            qualities.append(outcome["quality_micros"] / outcome["graded"] / 1e6)
        day += timedelta(days=1)
    return mann_kendall(cost_days, costs), mann_kendall(quality_days, qualities)


def settings_for(
    key: Key, by: Sequence[str], economics: EconomicsSettings
) -> FeatureEconomics | None:
    return economics.feature(key[list(by).index("feature")])
