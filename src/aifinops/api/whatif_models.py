"""Response body of ``/api/v1/routing/whatif`` (see docs/routing.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class WhatIfRowOut(BaseModel):
    """One (policy feature, provider route) as ``aifinops route whatif`` prints it."""

    feature: str
    provider: str | None = Field(description="null when the feature had no calls.")
    from_models: str = Field(description="The models the policy moves, comma-separated.")
    to_model: str | None = Field(description="The model the policy picks, if any meets the bar.")
    status: str = Field(description="routed, stays, below_bar, no_eval_data or no_traffic.")
    calls: int
    list_cost_usd: str
    effective_cost_usd: str
    whatif_list_cost_usd: str
    whatif_effective_cost_usd: str
    saving_usd: str = Field(description="effective_cost_usd − whatif_effective_cost_usd.")
    score: str | None = Field(description="The chosen model's score.")
    threshold: str | None = Field(description="The quality bar it had to meet.")
    reason: str


class WhatIfTotals(BaseModel):
    calls: int
    list_cost_usd: str
    effective_cost_usd: str
    whatif_list_cost_usd: str
    whatif_effective_cost_usd: str
    saving_usd: str


class WhatIfDocument(BaseModel):
    rows: list[WhatIfRowOut]
    totals: WhatIfTotals
    meta: dict[str, Any] = Field(
        description="from, to, below_bar, no_eval_data, method (as the CLI), and policies "
        "(how many of the config's routing policies the answer covers) and scope."
    )
