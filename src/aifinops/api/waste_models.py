"""Response body of ``/api/v1/waste`` (see docs/optimize.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FindingOut(BaseModel):
    kind: str = Field(
        description="no_prompt_caching, overpowered_model, system_prompt_growth, "
        "context_bloat or no_max_tokens."
    )
    team: str
    feature: str
    prompt_version: str | None
    evidence: dict[str, Any] = Field(
        description="Counts, token figures and example event ids (never content)."
    )
    monthly_saving_usd: str = Field(
        description="The saving over the window × 30 / days, a decimal string in USD."
    )
    method: str = Field(description="How the saving was computed, with the figures.")
    fix: str


class WasteTotals(BaseModel):
    findings: int
    monthly_saving_usd: str


class WasteDocument(BaseModel):
    findings: list[FindingOut]
    totals: WasteTotals
    meta: dict[str, Any]
