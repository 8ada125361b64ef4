"""Recorded deployment-gate runs: ``GET /api/v1/gates``.

A team token sees its team's runs only; runs whose team is unknown are seen by
unscoped roles (admin, finance) alone.

(No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time, and they name this module's closures.)
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from aifinops.api.context import ApiContext, Principal
from aifinops.api.errors import ApiError
from aifinops.api.gate_models import GatesPage
from aifinops.api.params import PRINTABLE, requires
from aifinops.api.roles import Permission
from aifinops.gate.store import list_runs
from aifinops.ledger.queries import MAX_PAGE

VERDICTS = ("pass", "fail", "insufficient")


def gates_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["gates"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.gates_read))]

    @router.get("/gates", summary="Recorded gate runs, newest first")
    def get_gates(
        principal: Reader,
        feature: Annotated[
            str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE)
        ] = None,
        verdict: Annotated[str | None, Query(description="pass, fail or insufficient.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> GatesPage:
        """Each run recorded by ``aifinops gate --record``: selections, verdict, who ran
        it and the whole gate document (figures, intervals, checks)."""
        if verdict is not None and verdict not in VERDICTS:
            raise ApiError(400, f"must be one of {', '.join(VERDICTS)}", field="verdict")
        with ctx.engine.connect() as conn:
            runs = list_runs(
                conn, principal.role.scope, feature=feature, verdict=verdict, limit=limit
            )
        return GatesPage.model_validate({"gates": runs})

    return router
