"""Counters in memory and in Redis follow the same rules (admit, settle, release)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from aifinops.governance.counters import (
    Charge,
    Counters,
    Limit,
    MemoryCounters,
    RedisCounters,
)

USD = 10**9
MINUTE = 29_000_000


def charge(
    amount: int = USD,
    *,
    limit: int = 10 * USD,
    action: str = "block",
    rpm: int = 3,
    budget: str = "team:sales",
    period: int = 1_700_000_000,
) -> Charge:
    return Charge(budget, period, 3600, limit, amount, action, rpm)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Callable[[], Counters]:
    if request.param == "memory":
        return MemoryCounters
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisCounters(url, prefix)


def test_admitted_while_under_the_limit_then_blocked(make: Callable[[], Counters]) -> None:
    async def scenario() -> None:
        counters = make()
        await counters.heartbeat()
        c = charge(amount=4 * USD)
        assert await counters.seed(c, 1 * USD)
        assert not await counters.seed(c, 5 * USD)  # seeding never overwrites
        first = await counters.admit([c], [], MINUTE)  # 1 + 0 < 10: admitted, reserves 4
        second = await counters.admit([c], [], MINUTE)  # 1 + 4 < 10
        third = await counters.admit([c], [], MINUTE)  # 1 + 8 < 10: admitted (overshoot)
        fourth = await counters.admit([c], [], MINUTE)  # 1 + 12 >= 10: blocked
        assert [v.admitted for v in (first, second, third, fourth)] == [True, True, True, False]
        assert fourth.reason == "budget_blocked" and fourth.refused_by == "team:sales"
        assert (fourth.spent_nusd, fourth.reserved_nusd) == (USD, 12 * USD)
        await counters.settle([c], [USD // 2], [], MINUTE, 10)  # actual cost far below
        await counters.release([c], [], MINUTE)
        assert await counters.snapshot("team:sales", c.period_start) == (USD + USD // 2, 4 * USD)
        assert (await counters.admit([c], [], MINUTE)).admitted  # 1.5 + 4 < 10 again
        await counters.close()

    run(scenario())


def test_throttle_and_downgrade_admit_by_action(make: Callable[[], Counters]) -> None:
    async def scenario() -> None:
        counters = make()
        await counters.heartbeat()
        throttled = charge(action="throttle", rpm=3, budget="team:t")
        downgraded = charge(action="downgrade", budget="team:d")
        await counters.seed(throttled, 10 * USD)  # at the hard limit already
        await counters.seed(downgraded, 11 * USD)
        passed = [await counters.admit([throttled], [], MINUTE) for _ in range(5)]
        assert [v.admitted for v in passed] == [True, True, True, False, False]
        assert passed[0].over == ("team:t",) and passed[3].reason == "budget_throttled"
        assert (await counters.admit([throttled], [], MINUTE + 1)).admitted  # a new minute
        verdict = await counters.admit([downgraded], [], MINUTE)
        assert verdict.admitted and verdict.over == ("team:d",)
        both = await counters.admit([charge(budget="team:ok"), throttled], [], MINUTE + 1)
        assert both.admitted and both.over == ("team:t",)
        await counters.close()

    run(scenario())


def test_a_blocking_budget_refuses_even_when_another_would_throttle(
    make: Callable[[], Counters],
) -> None:
    async def scenario() -> None:
        counters = make()
        await counters.heartbeat()
        throttled = charge(action="throttle", rpm=100, budget="feature:f")
        blocked = charge(action="block", budget="team:b")
        await counters.seed(throttled, 10 * USD)
        await counters.seed(blocked, 10 * USD)
        verdict = await counters.admit([throttled, blocked], [], MINUTE)
        assert not verdict.admitted and verdict.refused_by == "team:b"
        # the refused request used no throttle slot and reserved nothing
        snap = await counters.snapshot("feature:f", throttled.period_start)
        assert snap == (10 * USD, 0)
        await counters.close()

    run(scenario())


def test_rate_limits_per_minute(make: Callable[[], Counters]) -> None:
    async def scenario() -> None:
        counters = make()
        await counters.heartbeat()
        rpm = Limit("key:k1", 2, None, 100)
        assert (await counters.admit([], [rpm], MINUTE)).admitted
        assert (await counters.admit([], [rpm], MINUTE)).admitted
        refused = await counters.admit([], [rpm], MINUTE)
        assert not refused.admitted and refused.reason == "rate_limit_requests"
        assert (await counters.admit([], [rpm], MINUTE + 1)).admitted
        tpm = Limit("team:x", None, 1000, 600)
        assert (await counters.admit([], [tpm], MINUTE)).admitted  # first one always passes
        assert not (await counters.admit([], [tpm], MINUTE)).admitted  # 600 + 600 > 1000
        await counters.settle([], [], [tpm], MINUTE, 100)  # the call used only 100 tokens
        assert (await counters.admit([], [tpm], MINUTE)).admitted  # 100 + 600 <= 1000
        await counters.close()

    run(scenario())


def test_a_new_period_starts_at_zero(make: Callable[[], Counters]) -> None:
    async def scenario() -> None:
        counters = make()
        await counters.heartbeat()
        old = charge(period=1_700_000_000)
        new = charge(period=1_700_000_000 + 86_400)
        await counters.seed(old, 20 * USD)
        assert not (await counters.admit([old], [], MINUTE)).admitted
        await counters.seed(new, 0)
        assert (await counters.admit([new], [], MINUTE)).admitted
        await counters.close()

    run(scenario())


def test_reservations_of_a_dead_process_are_dropped(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        dead = RedisCounters(redis_url, redis_prefix)
        alive = RedisCounters(redis_url, redis_prefix)
        await dead.heartbeat()
        await alive.heartbeat()
        c = charge(amount=9 * USD)
        await alive.seed(c, 0)
        assert (await dead.admit([c], [], MINUTE)).admitted  # reserves 9 of 10
        assert (await alive.admit([c], [], MINUTE)).admitted  # 9 < 10: admitted
        assert not (await alive.admit([c], [], MINUTE)).admitted  # 18 >= 10
        await dead.client.delete(f"{redis_prefix}hb:{dead.proc}")  # it stopped beating
        assert (await alive.admit([c], [], MINUTE)).admitted  # only its own 9 remain
        await dead.client.aclose()
        await dead.pool.disconnect()
        await alive.close()

    run(scenario())
