"""Provider reports: the pulls' status (``/ingest``) and the reconciliation (``/reconcile``).

Both are about the whole organisation's provider bills, which carry no team or
customer, so they are for unscoped roles only (admin, finance): a scoped token is
refused even if a later grant gave its role the permission.

(No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time, and they name this module's closures.)
"""

import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from aifinops.api.context import ApiContext, Principal, iso
from aifinops.api.errors import ApiError
from aifinops.api.params import FromParam, ToParam, requires, spend_range
from aifinops.api.report_models import IngestDocument, ReconcileDocument
from aifinops.api.roles import Permission
from aifinops.ingest.reconcile import reconcile
from aifinops.ingest.schedule import schedule_summary
from aifinops.ingest.status import FAILED, SourceStatus, source_statuses
from aifinops.pricing import PricingEngine
from aifinops.reports.reconcile import reconcile_document

MonthParam = Annotated[str | None, Query(max_length=20, description="YYYY-MM, current or last.")]
ThresholdParam = Annotated[
    float | None,
    Query(
        ge=0,
        le=1000,
        description="Flag a day whose billed and ledger cost differ by more than this % of "
        "the billed cost (default AIFINOPS_RECONCILE_THRESHOLD_PCT).",
    ),
]


def _source_row(status: SourceStatus) -> dict[str, Any]:
    return {
        "source": status.source,
        "provider": status.provider,
        "status": status.status,
        "started_at": iso(status.started_at),
        "finished_at": iso(status.finished_at),
        "first_day": status.first_day.isoformat(),
        "last_day": status.last_day.isoformat(),
        "days_done": status.days_done,
        "rows": status.rows,
        "rejected": status.rejected,
        "error": status.error,
        "last_success_at": iso(status.last_success_at),
        "last_error": status.last_error,
        "last_error_at": iso(status.last_error_at),
        "runs_complete": status.runs.get("complete", 0),
        "runs_failed": status.runs.get(FAILED, 0),
    }


class _Pricing:
    """One pricing engine per app, made on first use (the catalog takes a moment)."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._engine: PricingEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> PricingEngine:
        with self._lock:
            if self._engine is None:
                self._engine = PricingEngine(rates=self.ctx.settings.rates)
            return self._engine


def report_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    pricing = _Pricing(ctx)

    def unscoped(
        principal: Annotated[Principal, Depends(requires(ctx, Permission.provider_reports_read))],
    ) -> Principal:
        if not principal.role.scope.unrestricted:
            raise ApiError(403, f"the {principal.role} role may not read provider reports")
        return principal

    Caller = Annotated[Principal, Depends(unscoped)]

    @router.get("/ingest", tags=["provider reports"], summary="Status of the report pulls")
    def get_ingest(principal: Caller) -> IngestDocument:
        """Per report source: the latest pull, when it last succeeded, its last error.

        Read from the ledger, so it covers the `aifinops serve` schedule (whichever
        process ran it) and `aifinops import anthropic|openai|bedrock-cur` alike.
        ``meta.schedule`` lists the windows this server's config schedules.
        """
        now = datetime.now(UTC)
        with ctx.engine.connect() as conn:
            statuses = source_statuses(conn)
        schedule = schedule_summary(ctx.engine, ctx.settings.reports, now)
        for window in schedule:
            window["next_due_at"] = iso(window["next_due_at"])
        return IngestDocument.model_validate(
            {
                "rows": [_source_row(s) for s in statuses],
                "meta": {"schedule": schedule, "generated_at": iso(now)},
            }
        )

    @router.get("/reconcile", tags=["provider reports"], summary="Provider bills beside the ledger")
    def get_reconcile(
        principal: Caller,
        month: MonthParam = None,
        start: FromParam = None,
        end: ToParam = None,
        threshold: ThresholdParam = None,
    ) -> ReconcileDocument:
        """The same document as `aifinops reconcile --format json` for the same period.

        Per UTC day × provider × model: provider tokens and billed cost beside the
        ledger's, coverage, untracked spend and price drift; ``meta.flagged`` lists the
        days that do not reconcile within the threshold. ``month`` or ``from``+``to``;
        neither means the current month.
        """
        lo, hi = spend_range(start, end, month)
        settings = ctx.settings.reports
        pct = settings.reconcile_threshold_pct if threshold is None else threshold
        with ctx.engine.connect() as conn:
            result = reconcile(conn, pricing.get(), lo, hi, pct)
        return ReconcileDocument.model_validate(reconcile_document(result, month))

    return router
