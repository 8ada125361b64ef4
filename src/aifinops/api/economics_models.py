"""Request and response bodies of the unit-economics endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Usd = str | None


class OutcomeIn(BaseModel):
    """One outcome; validated field by field by the same code as `import outcomes`."""

    model_config = ConfigDict(extra="forbid")

    outcome_id: Any = Field(description="Idempotency key: a repeated id adds nothing.")
    unit_id: Any = None
    feature: Any = None
    customer_id: Any = None
    type: Any = None
    success: Any = None
    value_usd: Any = Field(default=None, description="Decimal string in USD (optional).")
    quality: Any = Field(default=None, description="0 to 1 (optional).")
    ts: Any = Field(default=None, description="ISO-8601 UTC, e.g. 2026-11-01T12:00:00Z.")


class OutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(max_length=10_000, description="At most 10,000 a call.")
    strict: bool = Field(default=False, description="Import nothing if any outcome is bad.")


class OutcomeRejection(BaseModel):
    index: int
    field: str | None
    reason: str


class OutcomesResult(BaseModel):
    imported: int
    duplicates: int
    rejected: list[OutcomeRejection]


class EconomicsRow(BaseModel):
    feature: str | None = None
    team: str | None = None
    customer: str | None = None
    prompt_version: str | None = None
    outcome_type: str | None
    spend_usd: Usd
    list_cost_usd: Usd
    calls: int
    errors: int
    unpriced_calls: int
    outcomes: int
    successes: int
    success_rate: float | None
    cost_per_outcome_usd: Usd
    cost_per_successful_outcome_usd: Usd
    yardstick: str | None
    human_cost_usd: Usd
    value_per_outcome_usd: Usd
    human_cost_ratio: float | None
    target_ratio: float | None
    red_line: float | None
    status: str | None
    value_usd: Usd
    value_share: float | None
    mean_quality: float | None
    cache_hit_rate: float | None
    open_units: int
    open_unit_spend_usd: Usd
    trend: str
    trend_slope_usd_per_day: float | None
    trend_p_value: float | None
    trend_days: int
    quality_trend: str
    recommendation: str
    reason: str
    note: str | None


class EconomicsTotals(BaseModel):
    spend_usd: Usd
    list_cost_usd: Usd
    calls: int
    outcomes: int
    successes: int
    cost_per_successful_outcome_usd: Usd
    open_units: int
    open_unit_spend_usd: Usd


class EconomicsDocument(BaseModel):
    rows: list[EconomicsRow]
    totals: EconomicsTotals
    meta: dict[str, Any]


class ShowbackRow(BaseModel):
    customer_id: str
    direct_spend_usd: Usd
    allocated_spend_usd: Usd
    total_spend_usd: Usd
    share_of_total: float
    calls: int
    outcomes: int
    successes: int
    cost_per_successful_outcome_usd: Usd
    charge_usd: Usd


class ShowbackDocument(BaseModel):
    rows: list[ShowbackRow]
    totals: dict[str, Usd]
    meta: dict[str, Any]


class StatementRow(BaseModel):
    customer_id: str
    feature: str | None
    spend_usd: Usd
    calls: int
    outcomes: int
    successes: int
    cost_per_successful_outcome_usd: Usd


class StatementDocument(BaseModel):
    rows: list[StatementRow]
    totals: dict[str, Any]
    meta: dict[str, Any]


class FeatureSettingsIn(BaseModel):
    """Economics settings of a feature; money as decimal strings in USD."""

    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(default=None, max_length=200)
    outcome_type: str | None = Field(default=None, max_length=200)
    human_cost_usd: str | None = Field(default=None, max_length=40)
    labour_rate_usd_per_hour: str | None = Field(default=None, max_length=40)
    minutes_per_outcome: str | None = Field(default=None, max_length=40)
    value_per_outcome_usd: str | None = Field(default=None, max_length=40)
    target_ratio: str | None = Field(default=None, max_length=40)
    red_line: str | None = Field(default=None, max_length=40)


class FeatureSettingsOut(BaseModel):
    name: str
    team: str | None
    outcome_type: str | None
    human_cost_usd: Usd
    value_per_outcome_usd: Usd
    target_ratio: str
    red_line: str
    source: str


class FeatureSettingsList(BaseModel):
    rows: list[FeatureSettingsOut]


class FeatureDeleted(BaseModel):
    name: str
    deleted: bool


class UnitOutcome(BaseModel):
    outcome_id: str
    success: bool
    type: str | None
    ts: str | None


class UnitRow(BaseModel):
    unit_id: str
    feature: str | None
    team: str | None
    customer_id: str | None
    prompt_version: str | None
    first_call_at: str | None
    last_call_at: str | None
    calls: int
    errors: int
    list_cost_usd: Usd
    effective_cost_usd: Usd
    outcomes: list[UnitOutcome]


class UnitsMeta(BaseModel):
    limit: int
    next_cursor: str | None
    scope: str | None


class UnitsPage(BaseModel):
    rows: list[UnitRow]
    meta: UnitsMeta
