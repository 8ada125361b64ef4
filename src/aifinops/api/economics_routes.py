"""Unit economics: outcomes in, economics, showback, statements and feature settings out."""

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from aifinops.api.audit import record_audit
from aifinops.api.context import ApiContext, Principal
from aifinops.api.economics_models import (
    EconomicsDocument,
    FeatureDeleted,
    FeatureSettingsIn,
    FeatureSettingsList,
    FeatureSettingsOut,
    OutcomesIn,
    OutcomesResult,
    ShowbackDocument,
    StatementDocument,
    UnitsPage,
)
from aifinops.api.errors import ApiError
from aifinops.api.models import ErrorBody
from aifinops.api.params import (
    PRINTABLE,
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
from aifinops.economics.document import economics_document
from aifinops.economics.numbers import EconomicsQuery, compute, parse_by
from aifinops.economics.outcomes import outcome_from_record, write_outcomes
from aifinops.economics.settings import EconomicsConfigError, EconomicsSettings
from aifinops.economics.showback import customers_document, statement_document
from aifinops.economics.store import (
    FeatureConflictError,
    delete_feature,
    effective_economics,
    put_feature,
)
from aifinops.economics.units import UnitsQuery, units_page
from aifinops.ledger.queries import MAX_PAGE, QueryError
from aifinops.usage import RecordError

MonthParam = Annotated[
    str | None, Query(max_length=20, description="YYYY-MM, current or last (default last).")
]
NameParam = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Defined in the config file (read-only)."}
}
BY_HELP = "feature, plus any of team, customer, prompt_version (comma-separated)."


def _period(start: str | None, end: str | None, month: str | None) -> Any:
    if month is None and start is None and end is None:
        month = "last"
    return spend_range(start, end, month)


def _economics(ctx: ApiContext) -> EconomicsSettings:
    try:
        return effective_economics(ctx.engine, ctx.settings.economics)
    except FeatureConflictError as exc:
        raise ApiError(409, str(exc), field="features") from None


def economics_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["economics"])
    Ingest = Annotated[Principal, Depends(requires(ctx, Permission.outcomes_write))]
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.economics_read))]

    @router.post("/outcomes", summary="Record outcome events (batch)", responses=CONFLICT)
    def post_outcomes(principal: Ingest, body: OutcomesIn) -> OutcomesResult:
        """Idempotent on ``outcome_id``. Bad outcomes are listed with their index, field
        and reason; the others are recorded (``strict``: nothing is, if any is bad)."""
        good: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for i, item in enumerate(body.outcomes):
            try:
                good.append(outcome_from_record(item.model_dump()))
            except RecordError as exc:
                rejected.append({"index": i, "field": exc.field, "reason": exc.reason})
        if body.strict and rejected:
            first = rejected[0]
            raise ApiError(
                422,
                f"outcomes[{first['index']}].{first['field']}: {first['reason']} "
                f"({len(rejected)} bad; nothing recorded)",
                field=f"outcomes.{first['index']}.{first['field']}",
            )
        economics = _economics(ctx)
        teams = {f.name: f.team for f in economics.features if f.team}
        imported = 0
        with ctx.engine.begin() as conn:
            if good:
                imported = write_outcomes(conn, good, teams)
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="outcomes.import",
                target=None,
                before=None,
                after={
                    "imported": imported,
                    "duplicates": len(good) - imported,
                    "rejected": len(rejected),
                },
            )
        return OutcomesResult.model_validate(
            {"imported": imported, "duplicates": len(good) - imported, "rejected": rejected}
        )

    @router.get(
        "/economics",
        summary="Cost per successful outcome per feature",
        response_model_exclude_unset=True,  # a row carries only the groupings asked for
        responses=CONFLICT,
    )
    def get_economics(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        month: MonthParam = None,
        by: Annotated[str, Query(max_length=100, description=BY_HELP)] = "feature",
        feature: Dimension = None,
        team: Dimension = None,
        customer: Dimension = None,
        series: Annotated[bool, Query(description="Add the 30-day daily series.")] = False,
    ) -> EconomicsDocument:
        """The numbers of `aifinops report outcomes --format json` for the same period.

        A team token sees its team's rows only."""
        lo, hi = _period(start, end, month)
        given = (("feature", feature), ("team", team), ("customer", customer))
        filters = tuple((k, v) for k, v in given if v is not None)
        try:
            query = EconomicsQuery(lo, hi, parse_by(by), filters, series)
            with ctx.engine.connect() as conn:
                result = compute(conn, query, principal.role.scope)
        except QueryError as exc:
            raise ApiError(400, str(exc), field=exc.field) from None
        doc = economics_document(result, _economics(ctx))
        doc["meta"]["scope"] = str(principal.role) if principal.role.value else None
        return EconomicsDocument.model_validate(doc)

    @router.get("/units", summary="Units of work: their calls and cost beside their outcomes")
    def get_units(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        feature: Dimension = None,
        team: Dimension = None,
        customer: Dimension = None,
        prompt_version: Dimension = None,
        open_only: Annotated[
            bool, Query(alias="open", description="Only units with no outcome yet.")
        ] = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")] = 100,
        cursor: CursorParam = None,
    ) -> UnitsPage:
        """Newest first by first call (``from``/``to`` select the first call's UTC day);
        follow ``meta.next_cursor``. A team token sees its team's units only."""
        lo, hi = date_range(start, end)
        given = (
            ("feature", feature),
            ("team", team),
            ("customer", customer),
            ("prompt_version", prompt_version),
        )
        query = UnitsQuery(
            lo,
            hi,
            tuple((k, v) for k, v in given if v is not None),
            open_only,
            limit,
            decode_cursor(cursor),
        )
        with ctx.engine.connect() as conn:
            rows, after = units_page(conn, query, principal.role.scope)
        meta = {
            "limit": limit,
            "next_cursor": encode_cursor(after),
            "scope": str(principal.role) if principal.role.value else None,
        }
        return UnitsPage.model_validate({"rows": rows, "meta": meta})

    return router


def showback_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["showback"])
    Showback = Annotated[Principal, Depends(requires(ctx, Permission.showback_read))]
    Statement = Annotated[Principal, Depends(requires(ctx, Permission.statement_read))]

    @router.get("/customers", summary="Showback: spend per customer, shared spend allocated")
    def get_customers(
        principal: Showback,
        month: MonthParam = None,
        start: FromParam = None,
        end: ToParam = None,
    ) -> ShowbackDocument:
        lo, hi = _period(start, end, month)
        with ctx.engine.connect() as conn:
            doc = customers_document(conn, lo, hi, ctx.settings.economics.showback)
        return ShowbackDocument.model_validate(doc)

    @router.get("/customers/{customer_id}/statement", summary="One customer's statement")
    def get_statement(
        principal: Statement,
        customer_id: NameParam,
        month: MonthParam = None,
        start: FromParam = None,
        end: ToParam = None,
        markup_pct: Annotated[
            float | None, Query(ge=0, le=1000, description="Chargeback markup in %.")
        ] = None,
    ) -> StatementDocument:
        """A customer token reads only its own statement."""
        own = principal.role.scope.customer_id
        if own is not None and own != customer_id:
            raise ApiError(403, f"the {principal.role} role may read only its own statement")
        lo, hi = _period(start, end, month)
        rule = ctx.settings.economics.showback
        if markup_pct is not None:
            rule = replace(rule, markup_pct=Decimal(str(markup_pct)))
        with ctx.engine.connect() as conn:
            doc = statement_document(conn, customer_id, lo, hi, rule)
        return StatementDocument.model_validate(doc)

    return router


def features_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["settings"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.settings_read))]
    Writer = Annotated[Principal, Depends(requires(ctx, Permission.settings_write))]

    @router.get("/features", summary="Economics settings of every feature", responses=CONFLICT)
    def get_features(principal: Reader) -> FeatureSettingsList:
        """From the config file (read-only) and the API. A team token sees its team's."""
        team = principal.role.scope.team
        rows = [f.as_dict() for f in _economics(ctx).features if team is None or f.team == team]
        return FeatureSettingsList.model_validate({"rows": rows})

    @router.put(
        "/features/{name}",
        summary="Create or change a feature's economics settings",
        responses=CONFLICT,
    )
    def put_feature_settings(
        principal: Writer, name: NameParam, body: FeatureSettingsIn
    ) -> FeatureSettingsOut:
        """A feature defined in the config file cannot be changed here (409)."""
        if ctx.settings.economics.feature(name) is not None:
            raise ApiError(
                409, f"{name!r} is defined in the config file; change it there", field="name"
            )
        raw = {k: v for k, v in body.model_dump().items() if v is not None}
        with ctx.engine.begin() as conn:
            before = next(
                (
                    f.as_dict()
                    for f in effective_economics(conn, ctx.settings.economics).features
                    if f.name == name
                ),
                None,
            )
            try:
                feature = put_feature(conn, {**raw, "name": name}, principal.actor)
            except EconomicsConfigError as exc:
                field = exc.field.removeprefix("body.")
                raise ApiError(422, f"{field}: {exc.message}", field=field) from None
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="features.put",
                target=name,
                before=before,
                after=feature.as_dict(),
            )
        return FeatureSettingsOut.model_validate(feature.as_dict())

    @router.delete(
        "/features/{name}",
        summary="Delete a feature's API-made settings",
        responses={**CONFLICT, 404: {"model": ErrorBody, "description": "No such settings."}},
    )
    def delete_feature_settings(principal: Writer, name: NameParam) -> FeatureDeleted:
        if ctx.settings.economics.feature(name) is not None:
            raise ApiError(
                409, f"{name!r} is defined in the config file; remove it there", field="name"
            )
        with ctx.engine.begin() as conn:
            before = next(
                (
                    f.as_dict()
                    for f in effective_economics(conn, ctx.settings.economics).features
                    if f.name == name
                ),
                None,
            )
            if before is None or not delete_feature(conn, name):
                raise ApiError(404, f"no feature settings {name!r}", field="name")
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="features.delete",
                target=name,
                before=before,
                after=None,
            )
        return FeatureDeleted.model_validate({"name": name, "deleted": True})

    return router
