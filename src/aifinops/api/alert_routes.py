"""Budget alerts fired: ``GET /api/v1/alerts``.

The rows of ``aifinops alerts list --format json`` (`aifinops.governance.alerts`). A
team token sees the alerts of the budgets whose scope is its team (those it sees at
``/api/v1/budgets``) and its team's anomalies; customer tokens may not read alerts.

(No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time, and they name this module's closures.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from aifinops.api.alert_models import AlertsDocument
from aifinops.api.context import ApiContext, Principal
from aifinops.api.errors import ApiError
from aifinops.api.models import ErrorBody
from aifinops.api.params import (
    FromParam,
    ToParam,
    date_range,
    day_param,
    decode_cursor,
    encode_cursor,
    requires,
)
from aifinops.api.roles import Permission
from aifinops.governance.alerts import KINDS, STATUSES, Visible, alerts_document, list_alerts
from aifinops.governance.store import BudgetConflictError, load_budgets
from aifinops.ledger.queries import MAX_PAGE

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "A run-time budget id is also in the config file."}
}
SinceParam = Annotated[
    str | None,
    Query(max_length=20, description="Fired on or after this UTC date (as `from`)."),
]
StatusParam = Annotated[
    str | None,
    Query(max_length=200, description="pending, delivered, failed or no_channel; several: a,b."),
]
KindParam = Annotated[
    str | None,
    Query(max_length=200, description="threshold, hard_limit, projected or anomaly; several: a,b."),
]


def _names(field: str, text: str | None, allowed: tuple[str, ...]) -> list[str]:
    """A comma-separated list of ``allowed`` values (empty: no filter)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    for name in names:
        if name not in allowed:
            raise ApiError(
                400, f"{field}: {name!r} is not one of {', '.join(allowed)}", field=field
            )
    return names


def alerts_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["budgets"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.alerts_read))]

    @router.get("/alerts", summary="Budget alerts fired, newest first", responses=CONFLICT)
    def get_alerts(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        since: SinceParam = None,
        status: StatusParam = None,
        kind: KindParam = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        cursor: Annotated[
            str | None, Query(max_length=400, description="`meta.next_cursor` of a page.")
        ] = None,
    ) -> AlertsDocument:
        """The rows of `aifinops alerts list --format json`: every threshold, hard-limit,
        projected and anomaly alert raised, with its delivery (status, attempts, last
        error). ``from``/``to`` are inclusive UTC days of ``fired_at`` (``since`` is
        ``from``). A team token sees its team's budgets' alerts and its anomalies. At
        most ``limit`` rows a page; follow ``meta.next_cursor`` (null on the last)."""
        if since and start:
            raise ApiError(400, "since: give either since or from, not both", field="since")
        if since:
            day_param("since", since)  # a bad value names since
        lo, hi = date_range(start or since, end)
        after = decode_cursor(cursor)
        statuses = _names("status", status, STATUSES)
        kinds = _names("kind", kind, KINDS)
        scope = principal.role.scope
        with ctx.engine.connect() as conn:
            visible = None
            if scope.team is not None:
                try:
                    budgets = load_budgets(conn, ctx.settings.budgets)
                except BudgetConflictError as exc:
                    raise ApiError(409, str(exc), field="budgets") from None
                visible = Visible.of_team(scope.team, budgets)
            alerts = list_alerts(
                conn,
                since=lo,
                until=hi,
                statuses=statuses,
                kinds=kinds,
                limit=limit + 1,
                visible=visible,
                after=after,
            )
        more = len(alerts) > limit
        alerts = alerts[:limit]
        last = alerts[-1] if more else None
        meta = {
            "report": "alerts",
            "since": lo.isoformat() if lo else None,
            "until": hi.isoformat() if hi else None,
            "status": statuses,
            "kind": kinds,
            "limit": limit,
            "next_cursor": encode_cursor((last.fired_at, last.alert_id)) if last else None,
            "scope": str(principal.role) if principal.role.value else None,
        }
        return AlertsDocument.model_validate(alerts_document(alerts, meta))

    return router
