"""Storing provider reports: rows, day replacement, pull state; the pull loop they share.

A pull covers a range of UTC days. Pages are merged by (bucket, row key), so a row sent
twice (overlapping pages) counts once; as soon as a later day appears in the stream a
day is complete and is *replaced* in one transaction (delete its rows, insert the
pull, mark it complete in ``ingest_days``). Re-pulling a day therefore replaces it and
never doubles it; an interrupted pull leaves every finished day stored, and
``resume=True`` pulls only the days not complete yet.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from aifinops.ingest.admin_http import AdminAPIError, AdminClient, Params, iter_pages
from aifinops.ingest.report_fields import ReportFieldError
from aifinops.ledger.schema_reports import (
    REPORT_TOKENS,
    ingest_days,
    ingest_runs,
    provider_costs,
    provider_usage,
)
from aifinops.usage import Usage


def _digest(parts: Iterable[object]) -> str:
    text = json.dumps([p if p is None or isinstance(p, (str, bool)) else str(p) for p in parts])
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One usage-report result: a bucket × group with canonical token counts."""

    bucket_start: datetime
    bucket_width: str
    usage: Usage
    model: str | None = None
    account_id: str | None = None
    api_key_id: str | None = None
    service_tier: str | None = None
    batch: bool | None = None
    context_window: str | None = None
    requests: int | None = None
    #: group dimensions with no column of their own (inference_geo, user_id, …)
    extra_dims: tuple[tuple[str, str], ...] = ()
    #: counts with no column of their own (audio tokens, …)
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date:
        return self.bucket_start.date()

    @property
    def key(self) -> str:
        return _digest(
            (
                self.bucket_width,
                self.model,
                self.account_id,
                self.api_key_id,
                self.service_tier,
                self.batch,
                self.context_window,
                *(f"{k}={v}" for k, v in self.extra_dims),
            )
        )


@dataclass(frozen=True, slots=True)
class CostRow:
    """One cost-report result: a day × group × line item, billed in nano-USD."""

    day: date
    cost_nusd: int
    account_id: str | None = None
    api_key_id: str | None = None
    line_item: str | None = None
    model: str | None = None
    cost_type: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    quantity: str | None = None
    extra_dims: tuple[tuple[str, str], ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return _digest(
            (
                self.account_id,
                self.api_key_id,
                self.line_item,
                self.model,
                self.cost_type,
                self.token_type,
                self.service_tier,
                *(f"{k}={v}" for k, v in self.extra_dims),
            )
        )


ReportRow = UsageRow | CostRow


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in a report that was skipped (``rejected``) or stored with a caveat."""

    where: str
    reason: str
    rejected: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" + ("" if self.rejected else " (stored)")


@dataclass(slots=True)
class ParsedPage:
    rows: list[ReportRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    days: list[date] = field(default_factory=list)  # bucket days the page covered


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report of one provider: where it is and how its pages become rows."""

    source: str  # e.g. "anthropic:usage"
    provider: str
    path: str
    params: Callable[[date, date], Params]  # inclusive days → query (without page)
    parse_page: Callable[[Mapping[str, Any]], ParsedPage]


@dataclass(slots=True)
class PullResult:
    source: str
    run_id: str
    days_done: int = 0
    days_skipped: int = 0
    rows: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def now_utc() -> datetime:
    return datetime.now(UTC)


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def spans(days: Sequence[date]) -> list[tuple[date, date]]:
    """Contiguous inclusive spans of sorted days."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


# --- writes ------------------------------------------------------------------------------


def _usage_values(source: str, provider: str, row: UsageRow, pulled: datetime) -> dict[str, Any]:
    details: dict[str, Any] = {**dict(row.extra_dims), **row.extras}
    return {
        "source": source,
        "bucket_start": row.bucket_start,
        "row_key": row.key,
        "provider": provider,
        "day": row.day,
        "bucket_width": row.bucket_width,
        "model": row.model,
        "account_id": row.account_id,
        "api_key_id": row.api_key_id,
        "service_tier": row.service_tier,
        "batch": row.batch,
        "context_window": row.context_window,
        **{name: getattr(row.usage, name) for name in REPORT_TOKENS},
        "requests": row.requests,
        "details": details or None,
        "pulled_at": pulled,
    }


def _cost_values(source: str, provider: str, row: CostRow, pulled: datetime) -> dict[str, Any]:
    details: dict[str, Any] = {**dict(row.extra_dims), **row.extras}
    return {
        "source": source,
        "day": row.day,
        "row_key": row.key,
        "provider": provider,
        "account_id": row.account_id,
        "api_key_id": row.api_key_id,
        "line_item": row.line_item,
        "model": row.model,
        "cost_type": row.cost_type,
        "token_type": row.token_type,
        "service_tier": row.service_tier,
        "quantity": row.quantity,
        "cost_nusd": row.cost_nusd,
        "details": details or None,
        "pulled_at": pulled,
    }


def replace_day(
    conn: Connection, source: str, provider: str, day: date, rows: Sequence[ReportRow]
) -> None:
    """Replace every row of ``source`` on ``day`` with ``rows`` and mark the day complete."""
    pulled = now_utc()
    conn.execute(
        delete(provider_usage).where(
            and_(provider_usage.c.source == source, provider_usage.c.day == day)
        )
    )
    conn.execute(
        delete(provider_costs).where(
            and_(provider_costs.c.source == source, provider_costs.c.day == day)
        )
    )
    usage = [_usage_values(source, provider, r, pulled) for r in rows if isinstance(r, UsageRow)]
    costs = [_cost_values(source, provider, r, pulled) for r in rows if isinstance(r, CostRow)]
    if usage:
        conn.execute(insert(provider_usage), usage)
    if costs:
        conn.execute(insert(provider_costs), costs)
    conn.execute(
        delete(ingest_days).where(and_(ingest_days.c.source == source, ingest_days.c.day == day))
    )
    conn.execute(
        insert(ingest_days).values(
            source=source, day=day, status="complete", rows=len(rows), pulled_at=pulled
        )
    )


def completed_days(conn: Connection, source: str, start: date, end: date) -> set[date]:
    stmt = select(ingest_days.c.day).where(
        and_(
            ingest_days.c.source == source,
            ingest_days.c.day >= start,
            ingest_days.c.day <= end,
            ingest_days.c.status == "complete",
        )
    )
    return {d if isinstance(d, date) else date.fromisoformat(str(d)) for d in conn.scalars(stmt)}


def _start_run(db: Engine, source: str, start: date, end: date) -> str:
    run_id = uuid.uuid4().hex
    with db.begin() as conn:
        conn.execute(
            insert(ingest_runs).values(
                run_id=run_id,
                source=source,
                first_day=start,
                last_day=end,
                started_at=now_utc(),
                status="running",
                days_done=0,
                rows=0,
                rejected=0,
            )
        )
    return run_id


def _finish_run(db: Engine, result: PullResult) -> None:
    with db.begin() as conn:
        conn.execute(
            ingest_runs.update()
            .where(ingest_runs.c.run_id == result.run_id)
            .values(
                finished_at=now_utc(),
                status="complete" if result.ok else "failed",
                days_done=result.days_done,
                rows=result.rows,
                rejected=result.rejected,
                last_error=result.error,
            )
        )


def ingest_status(conn: Connection) -> list[dict[str, Any]]:
    """The latest run of each source (status, last error, counts): for the API and metrics."""
    latest = (
        select(ingest_runs.c.source, func.max(ingest_runs.c.started_at).label("started_at"))
        .group_by(ingest_runs.c.source)
        .subquery()
    )
    stmt = (
        select(ingest_runs)
        .join(
            latest,
            and_(
                ingest_runs.c.source == latest.c.source,
                ingest_runs.c.started_at == latest.c.started_at,
            ),
        )
        .order_by(ingest_runs.c.source)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


# --- the pull loop -----------------------------------------------------------------------


class _DayBuffer:
    """Rows of the days being pulled, merged by key; tracks what was written."""

    def __init__(self, days: Sequence[date]) -> None:
        self.wanted = set(days)
        self.rows: dict[date, dict[tuple[datetime | date, str], ReportRow]] = {d: {} for d in days}
        self.written: dict[date, int] = {}
        self.changed: set[date] = set()
        self.latest: date | None = None

    def add(self, row: ReportRow) -> bool:
        """Add a row; False when the same (bucket, key) was already there (a duplicate)."""
        slot = self.rows[row.day]
        bucket: datetime | date = row.bucket_start if isinstance(row, UsageRow) else row.day
        ident = (bucket, row.key)
        duplicate = ident in slot
        slot[ident] = row
        self.changed.add(row.day)
        return not duplicate

    def see(self, day: date) -> None:
        self.latest = day if self.latest is None else max(self.latest, day)

    def ready(self, final: bool) -> list[date]:
        """Days to write now: complete (a later day was seen, or the pull ended) and changed."""
        out = []
        for day in sorted(self.wanted):
            complete = final or (self.latest is not None and day < self.latest)
            if complete and (day in self.changed or day not in self.written):
                out.append(day)
        return out


def _merge_page(
    buffer: _DayBuffer,
    parsed: ParsedPage,
    result: PullResult,
    on_problem: Callable[[Problem], None],
) -> None:
    for problem in parsed.problems:
        result.problems.append(problem)
        result.rejected += problem.rejected
        on_problem(problem)
    for day in parsed.days:
        if day in buffer.wanted:
            buffer.see(day)
    for row in parsed.rows:
        if row.day not in buffer.wanted:
            continue
        buffer.see(row.day)
        if not buffer.add(row):
            result.duplicates += 1


def _flush(
    db: Engine, spec: ReportSpec, buffer: _DayBuffer, result: PullResult, final: bool
) -> None:
    for day in buffer.ready(final):
        rows = list(buffer.rows[day].values())
        with db.begin() as conn:
            replace_day(conn, spec.source, spec.provider, day, rows)
        if day not in buffer.written:
            result.days_done += 1
        buffer.written[day] = len(rows)
        buffer.changed.discard(day)
    result.rows = sum(buffer.written.values())


def pull_report(
    db: Engine,
    client: AdminClient,
    spec: ReportSpec,
    start: date,
    end: date,
    *,
    resume: bool = False,
    on_problem: Callable[[Problem], None] = lambda _p: None,
) -> PullResult:
    """Pull ``spec`` for the inclusive UTC days ``start``..``end`` into the ledger.

    Never raises for an API failure: the result's ``error`` says what failed, and the
    days finished before it stay stored (and complete) so ``resume=True`` goes on from
    there. Pure of globals: the scheduler of ``aifinops serve`` can call it as is.
    """
    days = day_range(start, end)
    if resume:
        with db.connect() as conn:
            done = completed_days(conn, spec.source, start, end)
        skipped = len([d for d in days if d in done])
        days = [d for d in days if d not in done]
    else:
        skipped = 0
    result = PullResult(source=spec.source, run_id=_start_run(db, spec.source, start, end))
    result.days_skipped = skipped
    try:
        for lo, hi in spans(days):
            buffer = _DayBuffer(day_range(lo, hi))
            for page in iter_pages(client, spec.path, spec.params(lo, hi)):
                _merge_page(buffer, spec.parse_page(page), result, on_problem)
                _flush(db, spec, buffer, result, final=False)
            _flush(db, spec, buffer, result, final=True)
    except AdminAPIError as exc:
        result.error = str(exc)
    _finish_run(db, result)
    return result


def replace_days(
    db: Engine, source: str, provider: str, rows_by_day: Mapping[date, Sequence[ReportRow]]
) -> int:
    """Replace whole days of a file-based report (CUR); returns the rows stored."""
    stored = 0
    with db.begin() as conn:
        for day in sorted(rows_by_day):
            merged = {r.key: r for r in rows_by_day[day]}
            replace_day(conn, source, provider, day, list(merged.values()))
            stored += len(merged)
    return stored


#: Whether aifinops knows a list price for (provider, model).
KnownModel = Callable[[str, str], bool]
#: A page's buckets as (bucket start, its result objects); bad buckets become problems.
Buckets = Callable[[Mapping[str, Any], ParsedPage], list[tuple[datetime, list[Any]]]]


def note_unknown(
    parsed: ParsedPage, provider: str, model: str | None, known: KnownModel | None
) -> None:
    """Record (not reject) a model without a list price: stored, but no price drift."""
    if model and known is not None and not known(provider, model):
        parsed.problems.append(
            Problem(
                f"model {model!r}",
                "has no list price in aifinops; its tokens and cost are stored, "
                "its price drift is not computed",
                rejected=False,
            )
        )


def usage_page_parser(
    provider: str,
    buckets: Buckets,
    parse_result: Callable[[Any, datetime, str], UsageRow],
    width: str,
    known: KnownModel | None = None,
) -> Callable[..., ParsedPage]:
    """A usage-report page parser: each bucket's results as rows, bad ones as problems."""

    def parse(page: Mapping[str, Any]) -> ParsedPage:
        parsed = ParsedPage()
        for start, results in buckets(page, parsed):
            for j, result in enumerate(results):
                where = f"usage {start:%Y-%m-%dT%H:%MZ} result {j}"
                try:
                    row = parse_result(result, start, width)
                except (ReportFieldError, AttributeError) as exc:
                    parsed.problems.append(Problem(where, f"{exc}; row skipped"))
                    continue
                note_unknown(parsed, provider, row.model, known)
                parsed.rows.append(row)
        return parsed

    return parse
