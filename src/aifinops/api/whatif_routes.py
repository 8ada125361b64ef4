"""The routing what-if: ``GET /api/v1/routing/whatif``.

The period re-priced under the ``routing:`` policies of the running config, exactly as
``aifinops route whatif --policy CONFIG --month M --format json`` computes it
(`aifinops.optimize.whatif`). A team token gets the policies of the features its team
owns (a feature's ``team`` in the economics settings, as ``/api/v1/features`` shows it);
a policy for a feature with no owning team is for admin and finance only. Customer
tokens may not read it.

(No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time, and they name this module's closures.)
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from aifinops.api.context import ApiContext, Principal
from aifinops.api.params import FromParam, ToParam, requires, spend_range
from aifinops.api.roles import Permission
from aifinops.api.whatif_models import WhatIfDocument
from aifinops.economics.store import feature_teams
from aifinops.optimize.whatif import whatif, whatif_document
from aifinops.pricing import PricingEngine

MonthParam = Annotated[
    str | None, Query(max_length=20, description="YYYY-MM, current or last (default current).")
]


def whatif_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["optimize"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.waste_read))]
    pricing = PricingEngine(rates=ctx.settings.rates)

    @router.get("/routing/whatif", summary="The period re-priced under the routing policies")
    def get_whatif(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        month: MonthParam = None,
    ) -> WhatIfDocument:
        """The rows of `aifinops route whatif --format json` for the config's routing
        policies (default: this UTC month): per feature and provider route, the cost,
        the cost had the policy's chosen model served it, the saving, and the features
        below their quality bar or without eval data. No policies: no rows."""
        lo, hi = spend_range(start, end, month)
        policies = ctx.settings.routing
        team = principal.role.scope.team
        with ctx.engine.connect() as conn:
            if team is not None:
                owners = feature_teams(conn, ctx.settings.economics)
                policies = tuple(p for p in policies if owners.get(p.feature) == team)
            rows = whatif(conn, policies, pricing, lo, hi) if policies else []
        doc = whatif_document(rows, lo, hi)
        doc["meta"]["policies"] = len(policies)
        doc["meta"]["scope"] = str(principal.role) if principal.role.value else None
        return WhatIfDocument.model_validate(doc)

    return router
