"""The provider-report schedule of `aifinops serve`.

Each configured provider (``provider_reports:`` in the config file) has two windows:

- ``recent``: yesterday and today (UTC), every ``recent_interval`` (default 1 h);
- ``week``: the 7 days before today, every ``week_interval`` (default 1 d), which picks
  up the providers' late corrections.

When a window is due is read from ``ingest_runs``, not kept in memory: a window is
due when no run of one of its sources covered its days, or the latest one that did
started ``interval`` ago (after a failure, the shortest interval configured, so a
failed week pull is retried within the hour). A restart therefore does not pull again
what was just pulled, a manual ``aifinops import`` over the same days counts, and a
new leader (`aifinops.ingest.leader`) goes on where the old one stopped. At midnight
UTC the windows move on, so the day just finished is pulled once more at once.

The pulls are `aifinops.ingest.provider_store.pull_report`, run one after another in
a thread of their own (`ScheduleRunner`), never on the gateway's event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aifinops.ingest import anthropic_admin, openai_admin
from aifinops.ingest.admin_http import AdminClient
from aifinops.ingest.leader import LeaderLock
from aifinops.ingest.provider_store import KnownModel, Problem, PullResult, ReportSpec, pull_report
from aifinops.ingest.status import COMPLETE, last_attempt
from aifinops.settings import ReportSettings

log = logging.getLogger("aifinops.ingest.schedule")

#: How often a process that does not hold the lock tries again, and the longest sleep.
IDLE_S = 30.0
_MODULES = {"anthropic": anthropic_admin, "openai": openai_admin}
_KEY_ENV = {"anthropic": "ANTHROPIC_ADMIN_API_KEY", "openai": "OPENAI_ADMIN_API_KEY"}
_KEY_HINT = {
    "anthropic": "an Admin key (sk-ant-admin…) from the Claude Console",
    "openai": "an Admin key from the OpenAI platform's organization settings",
}


class ScheduleError(ValueError):
    """The schedule cannot run (a missing admin key); says what to set."""


@dataclass(frozen=True, slots=True)
class Job:
    """One window of one provider: its reports over ``first_back``..``last_back`` days ago."""

    provider: str
    window: str
    first_back: int
    last_back: int
    interval_s: float
    specs: tuple[ReportSpec, ...]

    def days(self, today: date) -> tuple[date, date]:
        return today - timedelta(days=self.first_back), today - timedelta(days=self.last_back)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(spec.source for spec in self.specs)


def plan_jobs(settings: ReportSettings, known: KnownModel | None = None) -> list[Job]:
    """The jobs of the configured schedule (two per provider)."""
    jobs = []
    for entry in settings.schedule:
        specs = tuple(_MODULES[entry.provider].report_specs(entry.bucket_width, known))
        jobs.append(Job(entry.provider, "recent", 1, 0, entry.recent_interval_s, specs))
        jobs.append(Job(entry.provider, "week", 7, 1, entry.week_interval_s, specs))
    return jobs


def make_clients(
    settings: ReportSettings, sleep: Callable[[float], None] = time.sleep
) -> dict[str, AdminClient]:
    """An admin client per scheduled provider; `ScheduleError` names a missing key."""
    clients = {}
    for i, entry in enumerate(settings.schedule):
        provider = entry.provider
        if provider == "anthropic":
            key, base = settings.anthropic_admin_api_key, settings.anthropic_admin_base_url
        else:
            key, base = settings.openai_admin_api_key, settings.openai_admin_base_url
        if not key:
            raise ScheduleError(
                f"provider_reports.providers[{i}]: {provider} is scheduled but "
                f"{_KEY_ENV[provider]} is not set; export {_KEY_HINT[provider]}, "
                f"or remove {provider} from provider_reports"
            )
        clients[provider] = _MODULES[provider].make_client(base, key, sleep=sleep)
    return clients


def retry_interval_s(jobs: Sequence[Job]) -> float:
    """How soon a failed window is tried again: the shortest interval configured."""
    return min((job.interval_s for job in jobs), default=IDLE_S)


def next_due(db: Engine, job: Job, now: datetime, retry_s: float) -> datetime:
    """When ``job`` is due next (``now`` or earlier: due now), from ``ingest_runs``."""
    first, last = job.days(now.date())
    due: datetime | None = None
    with db.connect() as conn:
        for source in job.sources:
            attempt = last_attempt(conn, source, first, last)
            if attempt is None:
                return now
            started, status = attempt
            wait = job.interval_s if status == COMPLETE else min(job.interval_s, retry_s)
            at = started + timedelta(seconds=wait)
            due = at if due is None else min(due, at)
    return now if due is None else due


def _seconds_to_midnight(now: datetime) -> float:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now).total_seconds()


class Scheduler:
    """Runs the due jobs, one after another, while it holds the leader lock."""

    def __init__(
        self,
        db: Engine,
        jobs: Sequence[Job],
        clients: Mapping[str, AdminClient],
        lock: LeaderLock,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        idle_s: float = IDLE_S,
        stopping: threading.Event | None = None,
    ) -> None:
        self.db = db
        self.jobs = list(jobs)
        self.clients = clients
        self.lock = lock
        self.clock = clock
        self.idle_s = idle_s
        self.retry_s = retry_interval_s(self.jobs)
        self.leading: bool | None = None  # unknown until the first step
        self.stopping = stopping or threading.Event()

    def step(self) -> float:
        """Run every job that is due; the seconds to wait before the next step."""
        leading = self.lock.acquire()
        if leading != self.leading:
            self.leading = leading
            log.info(
                "provider reports: %s",
                "this process pulls them"
                if leading
                else "another aifinops serve holds the scheduler lock; standing by",
            )
        if not leading:
            return self.idle_s
        wait = min(self.idle_s, _seconds_to_midnight(self.clock()) + 1)
        for job in self.jobs:
            if self.stopping.is_set():
                break
            due = next_due(self.db, job, self.clock(), self.retry_s)
            if due <= self.clock():
                self.run_job(job)
                due = next_due(self.db, job, self.clock(), self.retry_s)
            wait = min(wait, (due - self.clock()).total_seconds())
        return max(wait, 0.05)

    def run_job(self, job: Job) -> list[PullResult]:
        first, last = job.days(self.clock().date())
        client = self.clients[job.provider]
        results = []
        for spec in job.specs:
            if self.stopping.is_set():
                break
            problems: list[Problem] = []
            result = pull_report(self.db, client, spec, first, last, on_problem=problems.append)
            _log_result(job, spec.source, first, last, result, problems)
            results.append(result)
        return results


def _log_result(
    job: Job,
    source: str,
    first: date,
    last: date,
    result: PullResult,
    problems: Sequence[Problem],
) -> None:
    where = f"{source} {first}..{last} ({job.window})"
    if result.error:
        log.warning("%s failed: %s (days stored before it are kept)", where, result.error)
        return
    rejected = [p for p in problems if p.rejected]
    log.info(
        "%s: %d days, %d rows, %d rejected%s",
        where,
        result.days_done,
        result.rows,
        result.rejected,
        f" (first: {rejected[0]})" if rejected else "",
    )


class ScheduleRunner:
    """The scheduler in a daemon thread of its own: `start`, then `stop` at shutdown."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._thread = threading.Thread(
            target=self._run, name="aifinops-provider-reports", daemon=True
        )

    @property
    def stopping(self) -> threading.Event:
        return self.scheduler.stopping

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                wait = self.scheduler.step()
            except (SQLAlchemyError, OSError) as exc:
                log.warning(
                    "provider reports: the ledger cannot be reached (%s); trying again in %gs",
                    exc,
                    self.scheduler.idle_s,
                )
                wait = self.scheduler.idle_s
            except Exception:
                # a bug: log it with its traceback and keep the schedule alive
                log.exception("provider reports: a scheduled pull failed; trying again later")
                wait = self.scheduler.idle_s
            self.stopping.wait(wait)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop between two pulls (a pull under way is abandoned after ``timeout_s``)."""
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.scheduler.lock.release()


def build_runner(
    settings: ReportSettings, db: Engine, lock: LeaderLock, known: KnownModel | None = None
) -> ScheduleRunner | None:
    """The runner of the configured schedule (None when nothing is scheduled), not started.

    Raises `ScheduleError` when a scheduled provider has no admin key. Retries of the
    admin clients wait on the stop event, so `ScheduleRunner.stop` cuts them short.
    """
    jobs = plan_jobs(settings, known)
    if not jobs:
        return None
    stopping = threading.Event()

    def wait(seconds: float) -> None:
        stopping.wait(seconds)

    clients = make_clients(settings, sleep=wait)
    return ScheduleRunner(Scheduler(db, jobs, clients, lock, stopping=stopping))


def describe(jobs: Iterable[Job]) -> str:
    parts = []
    for job in jobs:
        parts.append(f"{job.provider} {job.window} every {_human(job.interval_s)}")
    return ", ".join(parts)


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def schedule_summary(
    db: Engine, settings: ReportSettings, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The configured windows with their days and next due time (for ``/api/v1/ingest``)."""
    jobs = plan_jobs(settings)
    moment = now or datetime.now(UTC)
    retry_s = retry_interval_s(jobs)
    out = []
    for job in jobs:
        first, last = job.days(moment.date())
        out.append(
            {
                "provider": job.provider,
                "window": job.window,
                "from": first.isoformat(),
                "to": last.isoformat(),
                "interval_s": job.interval_s,
                "sources": list(job.sources),
                "next_due_at": max(next_due(db, job, moment, retry_s), moment),
            }
        )
    return out
