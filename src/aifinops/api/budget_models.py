"""Request and response bodies of the budget endpoints (see docs/governance.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aifinops.api.models import PRINTABLE

Usd = str | None
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]


class BudgetIn(BaseModel):
    """A budget definition; omitted fields take their defaults (the whole definition is
    replaced). Validated by the same code as the config file and ``aifinops budget set``:
    a bad value is a 422 whose ``field`` names it."""

    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(default=None, description="If given, must equal the path's id.")
    scope: str = Field(max_length=20, description="team, feature, customer, key or org.")
    name: Text | None = Field(
        default=None, description="The team, feature, customer or gateway key id (not for org)."
    )
    amount_usd: str | float = Field(description="USD per period, more than 0, e.g. '500.00'.")
    period: str = Field(default="month", max_length=20, description="month, week or day.")
    timezone: str = Field(
        default="UTC", max_length=20, description="Whole-hour zone of the period: UTC, UTC+5 …"
    )
    cost: str = Field(default="effective", max_length=20, description="effective or list.")
    thresholds: list[int] | None = Field(
        default=None,
        max_length=20,
        description="Soft thresholds in % of the amount, increasing (default [50, 75, 90]).",
    )
    hard_limit_pct: int = Field(
        default=110, description="Hard limit in % of the amount, above the last threshold."
    )
    action: str = Field(
        default="throttle", max_length=20, description="throttle, block or downgrade."
    )
    throttle_rpm: int = Field(default=10, description="Requests a minute allowed when throttled.")
    downgrade: dict[Text, Text] | None = Field(
        default=None, description="Model → cheaper model, for action downgrade."
    )
    note: Text | None = Field(default=None, description="Free text.")
    source: str | None = Field(
        default=None,
        max_length=20,
        description="Ignored (the server sets it); accepted so a listed budget can be PUT back.",
    )


class BudgetOut(BaseModel):
    id: str
    scope: str
    name: str | None
    amount_usd: str
    period: str
    timezone: str
    cost: str
    thresholds: list[int]
    hard_limit_pct: int
    action: str
    throttle_rpm: int
    downgrade: dict[str, str]
    note: str | None
    source: str = Field(description="config (read-only at run time), api or cli.")


class BudgetList(BaseModel):
    rows: list[BudgetOut]


class BudgetDeleted(BaseModel):
    id: str
    deleted: bool


class BudgetStatusRow(BaseModel):
    """Where one budget stands at ``at``; see docs/governance.md#status."""

    budget_id: str
    scope: str
    name: str | None
    period: str
    timezone: str
    cost: str
    at: str
    period_start: str
    period_end: str
    resets_at: str
    elapsed_pct: float
    spend_usd: str
    amount_usd: str
    spend_pct: float
    hard_limit_pct: int
    hard_limit_usd: str
    action: str
    state: str = Field(description="ok, threshold or over_hard_limit.")
    crossed_threshold_pct: int | None
    next_threshold_pct: int | None
    state_text: str
    projected_usd: str = Field(description="Linear: spend so far ÷ elapsed share of the period.")
    projected_pct: float
    top_feature_1: str | None
    top_feature_1_usd: Usd
    top_feature_2: str | None
    top_feature_2_usd: Usd
    top_feature_3: str | None
    top_feature_3_usd: Usd
    source: str


class BudgetStatusTotals(BaseModel):
    budgets: int
    ok: int
    threshold: int
    over_hard_limit: int


class BudgetStatusMeta(BaseModel):
    at: str
    scope: str | None


class BudgetStatusDocument(BaseModel):
    rows: list[BudgetStatusRow]
    totals: BudgetStatusTotals
    meta: BudgetStatusMeta
