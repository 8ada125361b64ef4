"""Bodies of the provider-report endpoints: ``/api/v1/ingest`` and ``/api/v1/reconcile``.

The reconcile document is `aifinops.reports.reconcile.reconcile_document`, exactly what
``aifinops reconcile --format json`` prints; ``extra="forbid"`` makes a field added
there and not here fail the tests instead of vanishing from the API.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IngestSource(BaseModel):
    """Where one report source stands: its latest pull, last success and last failure."""

    source: str = Field(description="e.g. anthropic:usage, anthropic:cost, openai:costs")
    provider: str
    status: str = Field(description="The latest pull: running, complete or failed.")
    started_at: str
    finished_at: str | None
    first_day: str = Field(description="First UTC day the latest pull covered.")
    last_day: str
    days_done: int
    rows: int
    rejected: int = Field(description="Rows of the latest pull that could not be read.")
    error: str | None = Field(description="Why the latest pull failed (null if it did not).")
    last_success_at: str | None = Field(description="When the latest successful pull ended.")
    last_error: str | None = Field(
        description="The most recent failure, kept after later successes."
    )
    last_error_at: str | None
    runs_complete: int
    runs_failed: int


class ScheduledWindow(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    provider: str
    window: str = Field(description="recent (yesterday and today) or week (the 7 days before)")
    from_: str = Field(alias="from")
    to: str
    interval_s: float
    sources: list[str]
    next_due_at: str = Field(description="When it is pulled next (now or later).")


class IngestMeta(BaseModel):
    schedule: list[ScheduledWindow] = Field(
        description="What `aifinops serve` pulls (provider_reports: in the config file)."
    )
    generated_at: str


class IngestDocument(BaseModel):
    rows: list[IngestSource]
    meta: IngestMeta


class ReconcileRow(BaseModel):
    """One day × provider × model."""

    model_config = ConfigDict(extra="forbid")

    day: str
    provider: str
    model: str | None
    billed_cost_usd: str | None
    provider_list_cost_usd: str | None
    ledger_list_cost_usd: str | None
    ledger_effective_cost_usd: str | None
    coverage: float | None
    explained_cost_usd: str | None
    untracked_cost_usd: str | None
    price_drift_usd: str | None
    price_drift_pct: float | None
    provider_requests: int | None
    ledger_calls: int
    provider_input_tokens: int | None
    ledger_input_tokens: int
    provider_cache_read_tokens: int | None
    ledger_cache_read_tokens: int
    provider_cache_write_5m_tokens: int | None
    ledger_cache_write_5m_tokens: int
    provider_cache_write_1h_tokens: int | None
    ledger_cache_write_1h_tokens: int
    provider_output_tokens: int | None
    ledger_output_tokens: int
    provider_web_search_requests: int | None
    ledger_web_search_requests: int
    provider_unpriced: bool
    flagged: bool


class ReconcileTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billed_cost_usd: str | None
    ledger_list_cost_usd: str | None
    ledger_effective_cost_usd: str | None
    explained_cost_usd: str | None
    untracked_cost_usd: str | None
    coverage: float | None
    price_drift_usd: str | None
    price_drift_pct: float | None
    flagged_days: int


class FlaggedDay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: str
    provider: str
    billed_cost_usd: str | None
    ledger_effective_cost_usd: str | None
    reasons: list[str]


class ReconcileMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    report: str
    month: str | None
    from_: str = Field(alias="from")
    to: str
    threshold_pct: float
    providers_reported: list[str]
    flagged: list[FlaggedDay]
    currency: str
    source: str
    generated_at: str


class ReconcileDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[ReconcileRow]
    totals: ReconcileTotals
    meta: ReconcileMeta
