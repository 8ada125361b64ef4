"""Response body of ``/api/v1/alerts`` (see docs/governance.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AlertOut(BaseModel):
    """One alert as ``aifinops alerts list --format json`` prints it."""

    alert_id: str = Field(description="Derived from (subject, period, kind, level).")
    fired_at: str = Field(description="UTC ISO-8601.")
    kind: str = Field(description="threshold, hard_limit, projected or anomaly.")
    subject: str = Field(description="The budget id, or team:T / feature:F for an anomaly.")
    level: int = Field(description="The threshold % (threshold, hard_limit, projected), or 0.")
    team: str | None = Field(description="The team whose channel hears about it, if any.")
    period_start: str
    spend_usd: str | None
    limit_usd: str | None
    pct_of_budget: str | None = Field(description="Spend in % of the budget, one decimal.")
    projected_usd: str | None
    channel: str | None = Field(description="Channel labels (never webhook URLs).")
    status: str = Field(description="pending, delivered, failed or no_channel.")
    attempts: int
    last_error: str | None
    delivered_at: str | None


class AlertTotals(BaseModel):
    alerts: int
    pending: int
    delivered: int
    failed: int
    no_channel: int


class AlertsDocument(BaseModel):
    rows: list[AlertOut]
    totals: AlertTotals
    meta: dict[str, Any]
