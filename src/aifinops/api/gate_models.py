"""Response bodies of ``/api/v1/gates`` (see docs/gate.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class GateRunOut(BaseModel):
    run_id: str
    ts: str = Field(description="When the run was recorded, UTC ISO-8601.")
    feature: str
    team: str | None = Field(description="The feature's team, when known.")
    baseline: str = Field(description="The baseline selection as given.")
    candidate: str = Field(description="The candidate selection as given.")
    verdict: str = Field(description="pass, fail or insufficient.")
    exit_code: int = Field(description="0 pass, 1 fail, 3 not enough data.")
    ran_by: str | None = Field(description="Who ran it (cli:USER, or the API actor).")
    document: dict[str, Any] = Field(
        description="The whole gate document, as `aifinops gate --format json` prints it."
    )


class GatesPage(BaseModel):
    gates: list[GateRunOut]
