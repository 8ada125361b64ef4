"""Reads: spend, events, rejections, health. Each reads through the caller's scope."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from aifinops.api.context import ApiContext, Principal, iso
from aifinops.api.errors import ApiError
from aifinops.api.models import EventsPage, Health, RejectionsPage, SpendDocument
from aifinops.api.params import (
    CursorParam,
    Dimension,
    FromParam,
    ToParam,
    date_range,
    decode_cursor,
    encode_cursor,
    requires,
    spend_range,
)
from aifinops.api.roles import Permission
from aifinops.ledger.queries import MAX_PAGE, PageQuery, QueryError, SpendQuery, parse_group_by
from aifinops.money import nusd_to_usd
from aifinops.reports.spend import spend_document

BY_HELP = (
    "Comma-separated groupings: provider, model, team, feature, customer, prompt_version, "
    "and day or hour."
)
LimitParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")]


def _scope_text(principal: Principal) -> str | None:
    return str(principal.role) if principal.role.value is not None else None


def _event(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["ts"] = iso(row["ts"])
    out["list_cost_usd"] = nusd_to_usd(out.pop("list_cost_nusd"))
    out["effective_cost_usd"] = nusd_to_usd(out.pop("effective_cost_nusd"))
    return out


def _filters(**values: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in values.items() if value is not None)


def read_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    SpendCaller = Annotated[Principal, Depends(requires(ctx, Permission.spend_read))]
    EventsCaller = Annotated[Principal, Depends(requires(ctx, Permission.events_read))]
    RejectionsCaller = Annotated[Principal, Depends(requires(ctx, Permission.rejections_read))]
    HealthCaller = Annotated[Principal, Depends(requires(ctx, Permission.health_read))]

    @router.get(
        "/spend",
        tags=["spend"],
        summary="Spend grouped by dimensions and time",
        response_model_exclude_unset=True,  # a row carries only the dimensions asked for
    )
    def get_spend(
        principal: SpendCaller,
        start: FromParam = None,
        end: ToParam = None,
        month: Annotated[
            str | None, Query(max_length=20, description="YYYY-MM, current or last.")
        ] = None,
        by: Annotated[str, Query(max_length=200, description=BY_HELP)] = "team",
        top: Annotated[
            int | None, Query(ge=1, le=100_000, description="Only the N largest rows.")
        ] = None,
        provider: Dimension = None,
        model: Dimension = None,
        team: Dimension = None,
        feature: Dimension = None,
        customer: Dimension = None,
        prompt_version: Dimension = None,
    ) -> SpendDocument:
        """The same numbers and shape as `aifinops report spend --format json`.

        Reads the hourly rollups. Totals cover the whole selection even with ``top``.
        A team or customer token sees only its own rows and totals.
        """
        lo, hi = spend_range(start, end, month)
        filters = _filters(
            provider=provider,
            model=model,
            team=team,
            feature=feature,
            customer=customer,
            prompt_version=prompt_version,
        )
        try:
            query = SpendQuery(start=lo, end=hi, by=parse_group_by(by), top=top, filters=filters)
            result = ctx.ledger_for(principal).spend(query)
        except QueryError as exc:
            raise ApiError(400, str(exc), field=exc.field) from None
        doc = spend_document(query, result)
        doc["meta"]["scope"] = _scope_text(principal)
        return SpendDocument.model_validate(doc)

    @router.get("/events", tags=["events"], summary="A page of raw events (never content)")
    def get_events(
        principal: EventsCaller,
        start: FromParam = None,
        end: ToParam = None,
        provider: Dimension = None,
        model: Dimension = None,
        team: Dimension = None,
        feature: Dimension = None,
        customer: Dimension = None,
        prompt_version: Dimension = None,
        unit: Dimension = None,
        limit: LimitParam = 100,
        cursor: CursorParam = None,
    ) -> EventsPage:
        """Newest first; follow ``meta.next_cursor`` for the next page."""
        lo, hi = date_range(start, end)
        filters = _filters(
            provider=provider,
            model=model,
            team=team,
            feature=feature,
            customer_id=customer,
            prompt_version=prompt_version,
            unit_id=unit,
        )
        query = PageQuery(lo, hi, filters, limit, decode_cursor(cursor))
        try:
            found = ctx.ledger_for(principal).events(query)
        except QueryError as exc:
            raise ApiError(400, str(exc), field=exc.field) from None
        return EventsPage.model_validate(
            {
                "rows": [_event(r) for r in found.rows],
                "meta": {
                    "limit": limit,
                    "next_cursor": encode_cursor(found.next_after),
                    "scope": _scope_text(principal),
                },
            }
        )

    @router.get("/rejections", tags=["gateway"], summary="Requests the gateway refused")
    def get_rejections(
        principal: RejectionsCaller,
        start: FromParam = None,
        end: ToParam = None,
        reason: Dimension = None,
        team: Dimension = None,
        limit: LimitParam = 100,
        cursor: CursorParam = None,
    ) -> RejectionsPage:
        """Not model calls: 401, 400, 413, budget 429 … the gateway answered itself."""
        lo, hi = date_range(start, end)
        query = PageQuery(lo, hi, _filters(reason=reason, team=team), limit, decode_cursor(cursor))
        found = ctx.ledger_for(principal).rejections(query)
        rows = [{**r, "ts": iso(r["ts"])} for r in found.rows]
        meta = {
            "limit": limit,
            "next_cursor": encode_cursor(found.next_after),
            "scope": _scope_text(principal),
        }
        return RejectionsPage.model_validate({"rows": rows, "meta": meta})

    @router.get("/health", tags=["gateway"], summary="The recorder's health")
    def get_health(principal: HealthCaller) -> Health:
        """Queue depth, spool size and ledger state of the gateway's recorder."""
        recorder = ctx.recorder() if ctx.recorder is not None else None
        degraded = recorder is not None and not recorder["ledger_up"]
        last = ctx.ledger_for(principal).last_event_ts()
        return Health.model_validate(
            {
                "status": "degraded" if degraded else "ok",
                "recorder": recorder,
                "last_event_ts": iso(last),
            }
        )

    return router
