"""Waste findings: ``GET /api/v1/waste``.

A team token sees its team's findings only; customer tokens may not read waste.

(No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time, and they name this module's closures.)
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from aifinops.api.context import ApiContext, Principal
from aifinops.api.params import Dimension, FromParam, ToParam, requires, spend_range
from aifinops.api.roles import Permission
from aifinops.api.waste_models import WasteDocument
from aifinops.optimize.waste.report import WasteQuery, waste_document
from aifinops.pricing import PricingEngine

MonthParam = Annotated[
    str | None, Query(max_length=20, description="YYYY-MM, current or last (default last).")
]


def waste_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["optimize"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.waste_read))]
    pricing = PricingEngine(rates=ctx.settings.rates)

    @router.get("/waste", summary="Waste findings with their monthly saving")
    def get_waste(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        month: MonthParam = None,
        team: Dimension = None,
        feature: Dimension = None,
    ) -> WasteDocument:
        """The findings of `aifinops waste --format json` for the same period (default:
        last month): kind, team, feature, prompt version, evidence, monthly saving,
        method and fix. A team token sees its team's findings only."""
        if month is None and start is None and end is None:
            month = "last"
        lo, hi = spend_range(start, end, month)
        scope = principal.role.scope.team
        if scope is not None and team is not None and team != scope:
            query = WasteQuery(lo, hi, team=team, feature=feature)
            return WasteDocument.model_validate(
                {
                    "findings": [],
                    "totals": {"findings": 0, "monthly_saving_usd": "0.00"},
                    "meta": _meta(query),
                }
            )
        query = WasteQuery(lo, hi, team=scope or team, feature=feature)
        with ctx.engine.connect() as conn:
            doc = waste_document(conn, pricing, ctx.settings.waste, query)
        return WasteDocument.model_validate(doc)

    return router


def _meta(query: WasteQuery) -> dict[str, object]:
    return {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "days": query.days,
        "team": query.team,
        "feature": query.feature,
    }
