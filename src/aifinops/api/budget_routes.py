"""Budgets: definitions (config file + run time), their status, and audited writes."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.engine import Connection

from aifinops.api.budget_models import (
    BudgetDeleted,
    BudgetIn,
    BudgetList,
    BudgetOut,
    BudgetStatusDocument,
)
from aifinops.api.context import ApiContext, Principal
from aifinops.api.errors import ApiError
from aifinops.api.models import ErrorBody
from aifinops.api.params import requires
from aifinops.api.roles import Permission
from aifinops.governance.budgets import Budget, BudgetError
from aifinops.governance.status import budgets_status, parse_at, status_document
from aifinops.governance.store import (
    BudgetConflictError,
    delete_budget,
    load_budgets,
    put_budget,
)

BudgetIdParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/+=#-]{0,199}$",
        description="The budget id, e.g. team:support.",
    ),
]
AtParam = Annotated[
    str | None,
    Query(
        max_length=40,
        description="The moment to evaluate, ISO-8601 (e.g. 2026-10-31T23:59:59Z); default now.",
    ),
]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The id is in the config file (read-only)."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No run-time budget with this id."}
}


def _visible(principal: Principal, budgets: tuple[Budget, ...]) -> list[Budget]:
    """A team token sees the budgets of its team only (scope team, name T)."""
    scope = principal.role.scope
    if scope.team is not None:
        return [b for b in budgets if b.scope == "team" and b.name == scope.team]
    if scope.customer_id is not None:
        return [b for b in budgets if b.scope == "customer" and b.name == scope.customer_id]
    return list(budgets)


def _load(ctx: ApiContext, conn: Connection) -> tuple[Budget, ...]:
    try:
        return load_budgets(conn, ctx.settings.budgets)
    except BudgetConflictError as exc:
        raise ApiError(409, str(exc), field="budgets") from None


def _put(ctx: ApiContext, principal: Principal, budget_id: str, body: BudgetIn) -> Budget:
    """Validate, store and audit; errors in the API's shape, naming the field."""
    if body.id is not None and body.id != budget_id:
        raise ApiError(422, f"id: {body.id!r} differs from the path's {budget_id!r}", field="id")
    raw = {k: v for k, v in body.model_dump().items() if v is not None}
    raw["id"] = budget_id
    try:
        with ctx.engine.begin() as conn:
            return put_budget(conn, raw, principal.actor, "api", config=ctx.settings.budgets)
    except BudgetError as exc:
        field = exc.field.removeprefix("budget.")
        raise ApiError(422, f"{field}: {exc.message}", field=field) from None
    except BudgetConflictError as exc:
        raise ApiError(409, str(exc), field="budget_id") from None


def _delete(ctx: ApiContext, principal: Principal, budget_id: str) -> None:
    try:
        with ctx.engine.begin() as conn:
            deleted = delete_budget(
                conn, budget_id, principal.actor, "api", config=ctx.settings.budgets
            )
    except BudgetConflictError as exc:
        raise ApiError(409, str(exc), field="budget_id") from None
    if not deleted:
        raise ApiError(404, f"no run-time budget {budget_id!r}", field="budget_id")


def budgets_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["budgets"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.budgets_read))]
    Writer = Annotated[Principal, Depends(requires(ctx, Permission.budgets_write))]

    @router.get(
        "/budgets",
        summary="Every budget: the config file's and the run-time ones",
        responses=CONFLICT,
    )
    def get_budgets(principal: Reader) -> BudgetList:
        """``source`` says where each comes from (``config`` ones are read-only here). A
        team token sees its team's budgets only."""
        with ctx.engine.connect() as conn:
            budgets = _visible(principal, _load(ctx, conn))
        return BudgetList.model_validate({"rows": [b.as_dict() for b in budgets]})

    @router.get(
        "/budgets/status",
        summary="Where every budget stands: spend so far, state, projection, top features",
        responses=CONFLICT,
    )
    def get_budget_status(principal: Reader, at: AtParam = None) -> BudgetStatusDocument:
        """The rows of `aifinops budget status --format json` at the same moment. A team
        token sees its team's budgets only."""
        try:
            moment = parse_at(at)
        except ValueError as exc:
            raise ApiError(400, f"at: {exc}", field="at") from None
        with ctx.engine.connect() as conn:
            rows = budgets_status(conn, _visible(principal, _load(ctx, conn)), moment)
        doc = status_document(rows, moment)
        doc["meta"]["scope"] = str(principal.role) if principal.role.value else None
        return BudgetStatusDocument.model_validate(doc)

    @router.put(
        "/budgets/{budget_id:path}",
        summary="Create or replace a run-time budget",
        responses=CONFLICT,
    )
    def put_budget_definition(
        principal: Writer, budget_id: BudgetIdParam, body: BudgetIn
    ) -> BudgetOut:
        """The whole definition is replaced (omitted fields take their defaults); audited.
        Running gateways apply it within seconds. A config-file id is a 409."""
        return BudgetOut.model_validate(_put(ctx, principal, budget_id, body).as_dict())

    @router.delete(
        "/budgets/{budget_id:path}",
        summary="Delete a run-time budget",
        responses={**CONFLICT, **NOT_FOUND},
    )
    def delete_budget_definition(principal: Writer, budget_id: BudgetIdParam) -> BudgetDeleted:
        """Audited; running gateways drop it within seconds. A config-file id is a 409."""
        _delete(ctx, principal, budget_id)
        return BudgetDeleted.model_validate({"id": budget_id, "deleted": True})

    return router
