"""The budget and rate-limit guard of the gateway.

Before a call is forwarded: find every budget and rate limit that covers it (team,
feature, customer, gateway key, org), price its worst case — input estimated from the
request's size (4 bytes a token), output at its ``max_tokens`` or, without one, the
configured ceiling — and *admit* it against all of them at once (`counters`). A refused
call gets a 429 in the provider's own shape whose message names the budget, its scope,
spend, limit and reset time, with Retry-After. When the call ends, the reservation is
settled to the actual cost; if it never reached the provider, released.

Budget definitions are reloaded every few seconds (config file + database), so a change
reaches running gateways without a restart. Each budget period is seeded from the ledger
the first time this process meets it (so a restart starts from the recorded spend, never
from zero), and reconciled with the ledger on a schedule: the gap is a metric, and the
in-memory counters are corrected whenever this process has nothing left to write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aifinops.gateway.errors import Rejection
from aifinops.gateway.guard import GuardDecision, GuardRequest
from aifinops.governance.budgets import Budget
from aifinops.governance.counters import (
    Charge,
    CounterError,
    Counters,
    Limit,
    MemoryCounters,
    Verdict,
)
from aifinops.governance.limits import RateLimit
from aifinops.governance.periods import period_bounds, tz_name
from aifinops.governance.spend import spend_between
from aifinops.governance.store import BudgetConflictError, load_budgets
from aifinops.money import nusd_to_usd
from aifinops.pricing import PriceResult, PricingEngine
from aifinops.usage import Usage

log = logging.getLogger("aifinops.governance")

BYTES_PER_TOKEN = 4


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Ticket:
    """What one admitted call reserved."""

    charges: list[Charge]
    bases: list[str]  # the cost basis of each charge: effective or list
    limits: list[Limit]
    minute: int


class GovernanceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.refusals = Counter(
            "aifinops_budget_refusals",
            "Calls a budget or rate limit refused (429), by reason and budget or limit.",
            ["reason", "subject"],
            registry=registry,
        )
        self.downgrades = Counter(
            "aifinops_budget_downgrades",
            "Calls sent to a cheaper model because a budget was over its hard limit.",
            ["budget"],
            registry=registry,
        )
        self.counter_errors = Counter(
            "aifinops_budget_counter_errors",
            "Admissions with the shared counters unreachable (handled by the fail mode).",
            ["mode"],
            registry=registry,
        )
        self.gap = Gauge(
            "aifinops_budget_counter_gap_usd",
            "Counter spend minus ledger spend of each budget's current period, in USD.",
            ["budget"],
            registry=registry,
        )
        self.spent = Gauge(
            "aifinops_budget_spent_usd",
            "Spend of each budget's current period as the counters hold it, in USD.",
            ["budget"],
            registry=registry,
        )


class BudgetGuard:
    """Budgets and rate limits for one gateway process (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        pricing: PricingEngine,
        counters: Counters,
        *,
        config_budgets: Sequence[Budget] = (),
        rate_limits: Sequence[RateLimit] = (),
        output_ceiling: int = 4096,
        fail_mode: str = "open",
        metrics: GovernanceMetrics | None = None,
        clock: Callable[[], datetime] = utc_now,
        refresh_s: float = 2.0,
        reconcile_s: float = 60.0,
        progress: Callable[[], tuple[int, int]] = lambda: (0, 0),
        on_counters_down: Callable[[str, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.pricing = pricing
        self.counters = counters
        self.config_budgets = tuple(config_budgets)
        self.rate_limits = tuple(rate_limits)
        self.output_ceiling = output_ceiling
        self.fail_mode = fail_mode
        self.metrics = metrics or GovernanceMetrics(CollectorRegistry())
        self.clock = clock
        self.refresh_s = refresh_s
        self.reconcile_s = reconcile_s
        self.progress = progress  # (events waiting to be written, events written)
        self.on_counters_down = on_counters_down  # (fail mode, error): raises an alert
        self._down_reported = 0.0
        self.budgets: tuple[Budget, ...] = self.config_budgets
        self._seeded: dict[tuple[str, int], asyncio.Future[None]] = {}
        # (period, tz_hours) -> (start, end, start in epoch seconds) of the period last met
        self._periods: dict[tuple[str, int], tuple[datetime, datetime, int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Future[None]] = set()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.refresh()
        await self.counters.heartbeat()
        self._tasks = [
            asyncio.create_task(self._every(self.refresh_s, self.refresh)),
            asyncio.create_task(self._every(5.0, self.counters.heartbeat)),
            asyncio.create_task(self._every(self.reconcile_s, self.reconcile)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.counters.close()

    async def _every(self, seconds: float, job: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                result = job()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a failing background job must not stop the next run
                log.exception("governance background job failed")

    async def refresh(self) -> None:
        """Reload budget definitions (config file + database)."""

        def load() -> tuple[Budget, ...]:
            with self.engine.connect() as conn:
                return load_budgets(conn, self.config_budgets)

        try:
            self.budgets = await asyncio.to_thread(load)
        except BudgetConflictError as exc:
            log.error("%s; keeping the budgets loaded before", exc)
        except SQLAlchemyError as exc:
            log.warning("budgets not reloaded (ledger unreachable: %s)", type(exc).__name__)

    # --- the request path ---------------------------------------------------------------

    def _covering(self, request: GuardRequest) -> tuple[list[Budget], list[RateLimit]]:
        a = request.attribution
        attrs = {
            "team": a.team,
            "feature": a.feature,
            "customer_id": a.customer_id,
            "api_key_id": a.api_key_id,
        }
        return (
            [b for b in self.budgets if b.covers(attrs)],
            [r for r in self.rate_limits if r.covers(attrs)],
        )

    def _worst_case(self, request: GuardRequest, now: datetime) -> tuple[PriceResult, int]:
        input_tokens = max(request.request_bytes // BYTES_PER_TOKEN, 1)
        output = request.max_tokens if request.max_tokens else self.output_ceiling
        if request.endpoint.endswith("embeddings") or request.endpoint.endswith("count_tokens"):
            output = 0
        usage = Usage(input_tokens=input_tokens, output_tokens=output)
        return self.pricing.price(request.provider, request.model, now, usage), (
            input_tokens + output
        )

    def _period(self, budget: Budget, now: datetime) -> tuple[int, datetime]:
        """(start in epoch seconds, end) of the budget's period containing ``now``.

        `period_bounds` is the costliest step of pricing a charge, and every period of the
        same kind and time zone is the same until ``now`` leaves it, so its bounds are kept
        and recomputed only then (in either direction: a clock set back works too).
        """
        key = (budget.period, budget.tz_hours)
        known = self._periods.get(key)
        if known is None or not known[0] <= now < known[1]:
            start, end = period_bounds(budget.period, budget.tz_hours, now)
            known = (start, end, int(start.timestamp()))
            self._periods[key] = known
        return known[2], known[1]

    def _charge(self, budget: Budget, worst: PriceResult, now: datetime) -> Charge:
        start, end = self._period(budget, now)
        basis = worst.effective_cost_nusd if budget.cost == "effective" else worst.list_cost_nusd
        return Charge(
            budget_id=budget.id,
            period_start=start,
            ttl_s=int((end - now).total_seconds()) + 86_400,
            limit_nusd=budget.hard_limit_nusd,
            amount_nusd=basis or 0,
            action=budget.action,
            throttle_rpm=budget.throttle_rpm,
        )

    def _seeded_already(self, charge: Charge) -> bool:
        """Whether this period's seeding finished without error (awaiting it again would
        return at once, without yielding to the event loop: skipping it changes nothing)."""
        done = self._seeded.get((charge.budget_id, charge.period_start))
        return (
            done is not None and done.done() and not done.cancelled() and done.exception() is None
        )

    async def _seed(self, budget: Budget, charge: Charge) -> None:
        """Make sure the counters know this period's recorded spend (once per process)."""
        key = (budget.id, charge.period_start)
        pending = self._seeded.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._seed_from_ledger(budget, charge))
            self._seeded[key] = pending
        try:
            await asyncio.shield(pending)
        except Exception:
            self._seeded.pop(key, None)
            raise

    async def _seed_from_ledger(self, budget: Budget, charge: Charge) -> None:
        start = datetime.fromtimestamp(charge.period_start, UTC)
        _, end = period_bounds(budget.period, budget.tz_hours, start)

        def read() -> int:
            with self.engine.connect() as conn:
                return spend_between(conn, budget, start, end)

        try:
            spent = await asyncio.to_thread(read)
        except SQLAlchemyError as exc:
            raise CounterError(f"the ledger is unreachable ({type(exc).__name__})") from None
        await self.counters.seed(charge, spent)

    async def check(self, request: GuardRequest) -> GuardDecision:
        budgets, limits = self._covering(request)
        if not budgets and not limits:
            return GuardDecision()
        now = self.clock()
        worst, tokens = self._worst_case(request, now)
        charges = [self._charge(b, worst, now) for b in budgets]
        minute = int(now.timestamp()) // 60
        limit_objs = [Limit(r.id, r.rpm, r.tpm, tokens) for r in limits]
        try:
            for budget, charge in zip(budgets, charges, strict=True):
                if not self._seeded_already(charge):
                    await self._seed(budget, charge)
            verdict = await self.counters.admit(charges, limit_objs, minute)
        except CounterError as exc:
            return self._counters_down(exc)
        if not verdict.admitted:
            raise self._refusal(verdict, budgets, charges, now)
        ticket = Ticket(charges, [b.cost for b in budgets], limit_objs, minute)
        return self._admitted(request, verdict, budgets, ticket)

    def _counters_down(self, exc: CounterError) -> GuardDecision:
        self.metrics.counter_errors.labels(self.fail_mode).inc()
        now = time.monotonic()
        if self.on_counters_down is not None and now - self._down_reported > 60:
            self._down_reported = now
            task = asyncio.ensure_future(
                asyncio.to_thread(self.on_counters_down, self.fail_mode, str(exc))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if self.fail_mode == "closed":
            raise Rejection(
                503,
                "budget_unavailable",
                f"budgets cannot be checked ({exc}); the gateway is set to fail closed "
                "(AIFINOPS_BUDGET_FAIL_MODE=closed)",
            )
        log.warning("%s: admitting unchecked (AIFINOPS_BUDGET_FAIL_MODE=open)", exc)
        return GuardDecision(guardrails=("budget_unchecked",))

    def _admitted(
        self, request: GuardRequest, verdict: Verdict, budgets: list[Budget], ticket: Ticket
    ) -> GuardDecision:
        if not verdict.over:  # the usual case: no budget at its hard limit
            return GuardDecision((), None, None, ticket)
        over = {b.id: b for b in budgets if b.id in verdict.over}
        guardrails = tuple(f"budget_{over[i].action}:{i}" for i in verdict.over)
        for budget in over.values():
            target = dict(budget.downgrade).get(request.model)
            if budget.action == "downgrade" and target is not None:
                self.metrics.downgrades.labels(budget.id).inc()
                reason = f"budget {budget.id} over its hard limit: {request.model} -> {target}"
                return GuardDecision(guardrails, target, reason, ticket)
        return GuardDecision(guardrails, None, None, ticket)

    def _refusal(
        self, verdict: Verdict, budgets: list[Budget], charges: list[Charge], now: datetime
    ) -> Rejection:
        reason = verdict.reason or "budget_blocked"
        subject = verdict.refused_by or "?"
        self.metrics.refusals.labels(reason, subject).inc()
        next_minute = 60 - int(now.timestamp()) % 60
        if reason.startswith("rate_limit"):
            what = "requests" if reason == "rate_limit_requests" else "tokens"
            return Rejection(
                429,
                reason,
                f"rate limit {subject} reached: too many {what} this minute; retry in "
                f"{next_minute} s",
                headers=[(b"retry-after", str(next_minute).encode())],
            )
        budget = next(b for b in budgets if b.id == subject)
        charge = next(c for c in charges if c.budget_id == subject)
        _, end = period_bounds(budget.period, budget.tz_hours, now)
        scope = (
            "the whole organisation" if budget.scope == "org" else (f"{budget.scope} {budget.name}")
        )
        spent = _usd(verdict.spent_nusd)
        in_flight = _usd(verdict.reserved_nusd)
        limit = _usd(charge.limit_nusd)
        resets = end.isoformat().replace("+00:00", "Z")
        if reason == "budget_throttled":
            wait = next_minute
            tail = (
                f"throttled to {budget.throttle_rpm} requests a minute until it resets at "
                f"{resets}; retry in {wait} s"
            )
        else:
            wait = max(int((end - now).total_seconds()), 1)
            tail = f"blocked until it resets at {resets}"
        message = (
            f"budget {budget.id} ({scope}, {budget.period}ly, {tz_name(budget.tz_hours)}) is "
            f"over its hard limit: spent {spent} + {in_flight} in flight of the {limit} limit "
            f"({budget.hard_limit_pct}% of {_usd(budget.amount_nusd)}); {tail}"
        )
        return Rejection(429, reason, message, headers=[(b"retry-after", str(wait).encode())])

    async def settle(self, decision: GuardDecision, price: PriceResult, tokens: int) -> None:
        ticket = decision.ticket
        if not isinstance(ticket, Ticket):
            return
        actual = [
            (price.effective_cost_nusd if basis == "effective" else price.list_cost_nusd) or 0
            for basis in ticket.bases
        ]
        try:
            await self.counters.settle(ticket.charges, actual, ticket.limits, ticket.minute, tokens)
        except CounterError as exc:
            self.metrics.counter_errors.labels(self.fail_mode).inc()
            log.warning("settling a reservation: %s (reconciliation will catch up)", exc)

    async def release(self, decision: GuardDecision) -> None:
        ticket = decision.ticket
        if not isinstance(ticket, Ticket):
            return
        try:
            await self.counters.release(ticket.charges, ticket.limits, ticket.minute)
        except CounterError as exc:
            self.metrics.counter_errors.labels(self.fail_mode).inc()
            log.warning("releasing a reservation: %s", exc)

    # --- reconciliation -----------------------------------------------------------------

    async def reconcile(self) -> None:
        """Compare each budget's counter with the ledger for its current period.

        The gap is a metric. A period the counters lost (Redis restarted) is seeded again.
        In-memory counters are set to the ledger when this process wrote nothing while
        the ledger was read and has nothing waiting (then the ledger holds every call it
        settled); shared counters are only measured, since other processes may still be
        writing.
        """
        now = self.clock()
        for budget in self.budgets:
            start, end = period_bounds(budget.period, budget.tz_hours, now)

            def read(b: Budget = budget, lo: datetime = start, hi: datetime = end) -> int:
                with self.engine.connect() as conn:
                    return spend_between(conn, b, lo, hi)

            before = self.progress()
            ledger = await asyncio.to_thread(read)
            quiet = before[0] == 0 and self.progress() == before
            snap = await self.counters.snapshot(budget.id, int(start.timestamp()))
            if snap is None:
                charge = self._charge(budget, PriceResult(0, 0, None), now)
                await self.counters.seed(charge, ledger)
                continue
            spent, _ = snap
            self.metrics.spent.labels(budget.id).set(spent / 1e9)
            self.metrics.gap.labels(budget.id).set((spent - ledger) / 1e9)
            if spent != ledger and quiet and isinstance(self.counters, MemoryCounters):
                await self.counters.set_spent(budget.id, int(start.timestamp()), ledger)


def _usd(nusd: int) -> str:
    """Dollars and cents; below a dollar, to the micro-dollar (small budgets stay legible)."""
    amount = float(nusd_to_usd(nusd) or 0)
    return f"${amount:,.2f}" if abs(amount) >= 1 else f"${amount:.6f}"
