"""Running the alerts: once (`aifinops alerts evaluate`, for cron) or every
``AIFINOPS_ALERT_INTERVAL_S`` (default 60 s) inside `aifinops serve`.

One run: load the budgets (config file and database), `evaluate_alerts` in one
transaction, deliver what it inserted, then retry earlier alerts whose delivery failed
and still have attempts left (`aifinops.governance.channels`).

Exactly one process evaluates and delivers, however many ``serve`` workers and
instances share the ledger: `aifinops serve` runs the loop in its own process (the
uvicorn supervisor with ``--workers N``, which serves no request), and each run needs
the alert lock — the same leader election as the provider-report schedule
(`aifinops.ingest.leader`: a PostgreSQL session advisory lock, or an ``flock`` on
``<database>-alerts.lock`` beside a SQLite file), under a name of its own so the two
schedules do not block each other. ``aifinops alerts evaluate`` takes the same lock and
does nothing while a ``serve`` holds it. The unique index on ``budget_alerts`` keeps
every alert to one row even without the lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aifinops.governance.alerts import Alert, evaluate_alerts, undelivered
from aifinops.governance.channels import Deliverer
from aifinops.governance.store import BudgetConflictError, load_budgets
from aifinops.ingest.leader import FileLock, LeaderLock, NoLock, PostgresLock
from aifinops.ledger.db import create_ledger_engine
from aifinops.settings import Settings

log = logging.getLogger("aifinops.alerts")

LOCK_NAME = "aifinops:alert-evaluator:"


def alert_lock_for(engine: Engine) -> LeaderLock:
    """The alert evaluator's lock on the ledger's database (see the module docstring)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLock(engine, LOCK_NAME)
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return NoLock()
    return FileLock(Path(f"{database}-alerts.lock"))


@dataclass(slots=True)
class RunResult:
    """What one run did: the alerts it raised and the earlier ones it retried."""

    new: list[Alert] = field(default_factory=list)
    retried: list[Alert] = field(default_factory=list)

    @property
    def failed(self) -> list[Alert]:
        return [a for a in (*self.new, *self.retried) if a.status == "failed"]


def run_alerts(
    engine: Engine,
    settings: Settings,
    *,
    at: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Evaluate at ``at`` (default now), deliver the new alerts, retry failed ones."""
    moment = at or datetime.now(UTC)
    with engine.connect() as conn:
        budgets = load_budgets(conn, settings.budgets)
    with engine.begin() as conn:
        new = evaluate_alerts(conn, budgets, moment, settings)
    deliverer = Deliverer(engine, settings.alerts, sleep=sleep)
    result = RunResult(new=deliverer.deliver(new))
    with engine.connect() as conn:
        earlier = undelivered(conn, settings.alerts.max_attempts, exclude=[a.alert_id for a in new])
    result.retried = deliverer.deliver(earlier)
    return result


class AlertRunner:
    """The alert loop of `aifinops serve`, in a daemon thread: `start`, then `stop`."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        lock: LeaderLock,
        *,
        interval_s: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.lock = lock
        self.interval_s = interval_s if interval_s is not None else settings.alerts.interval_s
        self.clock = clock
        self.stopping = threading.Event()
        self.leading: bool | None = None
        self.runs = 0
        self._thread = threading.Thread(target=self._loop, name="aifinops-alerts", daemon=True)

    def step(self) -> RunResult | None:
        """One run if this process holds the lock (None otherwise)."""
        leading = self.lock.acquire()
        if leading != self.leading:
            self.leading = leading
            log.info(
                "alerts: %s",
                f"this process evaluates them every {self.interval_s:g} s"
                if leading
                else "another aifinops process holds the alert lock and evaluates them",
            )
        if not leading:
            return None
        result = run_alerts(self.engine, self.settings, at=self.clock(), sleep=self._wait)
        self.runs += 1
        for alert in result.new:
            log.info(
                "alert %s: %s %s (%s)", alert.alert_id, alert.kind, alert.subject, alert.status
            )
        return result

    def _wait(self, seconds: float) -> None:
        self.stopping.wait(seconds)  # a retry's backoff ends at once when serve stops

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except (SQLAlchemyError, BudgetConflictError) as exc:
                reason = getattr(exc, "orig", None) or exc  # without the SQL and parameters
                log.warning("alerts: cannot evaluate now (%s); trying again next run", reason)
            except Exception:
                # the ledger away, a budget conflict or a bug: log it, keep the loop alive
                log.exception("alerts: the evaluation failed; trying again in the next run")
            self.stopping.wait(self.interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.lock.release()
            self.engine.dispose()


def build_alert_runner(settings: Settings, engine: Engine | None = None) -> AlertRunner | None:
    """The alert loop of the settings (not started), on an engine of its own by default;
    None when ``AIFINOPS_ALERT_INTERVAL_S`` is 0."""
    if settings.alerts.interval_s <= 0:
        return None
    engine = engine or create_ledger_engine(settings.database_url)
    return AlertRunner(engine, settings, alert_lock_for(engine))
