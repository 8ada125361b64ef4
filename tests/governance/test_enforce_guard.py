"""The budget guard with a controllable clock, on a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aifinops.gateway.errors import Rejection
from aifinops.gateway.guard import GuardRequest
from aifinops.governance.budgets import parse_budget
from aifinops.governance.counters import MemoryCounters
from aifinops.governance.guard import BudgetGuard
from aifinops.governance.limits import RateLimit
from aifinops.ledger.schema_governance import budgets as budgets_table
from aifinops.pricing import PriceResult, PricingEngine
from aifinops.usage import Attribution, Usage
from tests.economics.helpers import USD, call, write_calls


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def request(team: str = "sales", model: str = "claude-sonnet-4-5", **kw: Any) -> GuardRequest:
    return GuardRequest(
        provider="anthropic",
        endpoint="/v1/messages",
        model=model,
        attribution=Attribution(team=team, feature=kw.pop("feature", None)),
        stream=False,
        request_bytes=kw.pop("request_bytes", 4000),
        max_tokens=kw.pop("max_tokens", 1000),
    )


def guard(engine: Engine, clock: Clock, *budgets: dict[str, Any], **kw: Any) -> BudgetGuard:
    return BudgetGuard(
        engine,
        PricingEngine(),
        MemoryCounters(),
        config_budgets=[parse_budget(b) for b in budgets],
        clock=clock,
        **kw,
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


SALES = {
    "scope": "team",
    "name": "sales",
    "amount_usd": "10",
    "thresholds": [50],
    "hard_limit_pct": 100,
    "action": "block",
}


def test_blocked_at_the_limit_with_a_message_naming_it_then_reset_at_midnight(
    ledger: Engine,
) -> None:
    write_calls(ledger, [call(date(2026, 11, 30), 10 * USD + 1, team="sales", hour=23)])
    clock = Clock(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
    g = guard(ledger, clock, SALES)

    async def scenario() -> None:
        await g.refresh()
        with pytest.raises(Rejection) as caught:
            await g.check(request())
        rej = caught.value
        assert rej.status == 429 and rej.reason == "budget_blocked"
        for part in (
            "budget team:sales",
            "team sales",
            "spent $10.00",
            "$10.00 limit",
            "resets at 2026-12-01T00:00:00Z",
        ):
            assert part in rej.message, rej.message
        assert rej.headers == [(b"retry-after", b"1")]
        assert (await g.check(request(team="support"))).ticket is None  # not covered
        clock.at = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
        decision = await g.check(request())
        assert decision.ticket is not None  # a new period: admitted
        await g.settle(decision, PriceResult(USD, USD, "v"), 10)
        snap = await g.counters.snapshot("team:sales", int(clock.at.timestamp()))
        assert snap == (USD, 0)

    run(scenario())


def test_periods_in_another_time_zone(ledger: Engine) -> None:
    # UTC+5: November ends at 2026-11-30T19:00:00Z
    write_calls(ledger, [call(date(2026, 11, 30), 10 * USD, team="sales", hour=18)])
    plus5 = {**SALES, "timezone": "UTC+5"}
    clock = Clock(datetime(2026, 11, 30, 18, 59, 59, tzinfo=UTC))
    g = guard(ledger, clock, plus5)

    async def scenario() -> None:
        await g.refresh()
        with pytest.raises(Rejection) as caught:
            await g.check(request())
        assert "resets at 2026-11-30T19:00:00Z" in caught.value.message
        assert "UTC+5" in caught.value.message
        clock.at = datetime(2026, 11, 30, 19, 0, 0, tzinfo=UTC)
        assert (await g.check(request())).ticket is not None

    run(scenario())


def test_throttle_downgrade_and_rate_limits(ledger: Engine) -> None:
    write_calls(ledger, [call(date(2026, 11, 3), 20 * USD, team="sales")])
    clock = Clock(datetime(2026, 11, 3, 12, 0, 5, tzinfo=UTC))
    throttle = {**SALES, "action": "throttle", "throttle_rpm": 2}
    downgrade = {
        "scope": "feature",
        "name": "triage",
        "amount_usd": "1",
        "action": "downgrade",
        "downgrade": {"claude-opus-4-1": "claude-haiku-4-5"},
    }
    g = guard(
        ledger,
        clock,
        throttle,
        downgrade,
        rate_limits=[RateLimit("team", "support", rpm=1)],
    )

    async def scenario() -> None:
        await g.refresh()
        assert (await g.check(request())).guardrails == ("budget_throttle:team:sales",)
        await g.check(request())
        with pytest.raises(Rejection) as caught:
            await g.check(request())
        assert caught.value.reason == "budget_throttled"
        assert "throttled to 2 requests a minute" in caught.value.message
        assert caught.value.headers == [(b"retry-after", b"55")]
        write_calls(ledger, [call(date(2026, 11, 3), 2 * USD, team="ops", feature="triage")])
        decision = await g.check(request(team="ops", feature="triage", model="claude-opus-4-1"))
        assert decision.model == "claude-haiku-4-5"
        assert decision.route_reason and "feature:triage" in decision.route_reason
        other = await g.check(request(team="ops", feature="triage", model="gpt-4o"))
        assert other.model is None  # not in the map: passes unchanged
        await g.check(request(team="support"))
        with pytest.raises(Rejection) as limited:
            await g.check(request(team="support"))
        assert limited.value.reason == "rate_limit_requests"

    run(scenario())


def test_worst_case_uses_max_tokens_or_the_ceiling(ledger: Engine) -> None:
    clock = Clock(datetime(2026, 11, 3, tzinfo=UTC))
    g = guard(ledger, clock, SALES, output_ceiling=2000)
    pricing = PricingEngine()
    with_max, tokens = g._worst_case(request(request_bytes=4000, max_tokens=1000), clock.at)
    expected = pricing.price(
        "anthropic", "claude-sonnet-4-5", clock.at, Usage(input_tokens=1000, output_tokens=1000)
    )
    assert with_max == expected and tokens == 2000
    without, _ = g._worst_case(request(request_bytes=4000, max_tokens=None), clock.at)
    assert without == pricing.price(
        "anthropic", "claude-sonnet-4-5", clock.at, Usage(input_tokens=1000, output_tokens=2000)
    )


def test_a_budget_made_at_run_time_is_picked_up_on_refresh(ledger: Engine) -> None:
    clock = Clock(datetime(2026, 11, 3, tzinfo=UTC))
    g = guard(ledger, clock)

    async def scenario() -> None:
        await g.refresh()
        assert (await g.check(request())).ticket is None
        definition = {**SALES, "amount_usd": "0.000001"}
        with ledger.begin() as conn:
            conn.execute(
                budgets_table.insert().values(
                    budget_id="team:sales",
                    definition=definition,
                    updated_at=clock.at,
                    updated_by="test",
                )
            )
        await g.refresh()
        assert [b.id for b in g.budgets] == ["team:sales"]
        assert (await g.check(request())).ticket is not None  # 0 spent: admitted
        with pytest.raises(Rejection):
            await g.check(request())  # the first reservation is over the tiny limit

    run(scenario())


def test_redis_down_fails_open_or_closed_with_a_metric_and_an_alert(ledger: Engine) -> None:
    from sqlalchemy import select

    from aifinops.governance.alerts import Alert, raise_counters_down
    from aifinops.governance.channels import headline
    from aifinops.governance.counters import RedisCounters
    from aifinops.ledger.schema_governance import budget_alerts
    from aifinops.settings import AlertSettings

    clock = Clock(datetime(2026, 11, 3, 12, tzinfo=UTC))
    raised: list[tuple[str, str]] = []

    def on_down(mode: str, error: str) -> None:
        raised.append((mode, error))
        with ledger.begin() as conn:
            raise_counters_down(conn, AlertSettings(), mode, error, clock.at)

    def make(mode: str) -> BudgetGuard:
        return BudgetGuard(
            ledger,
            PricingEngine(),
            RedisCounters("redis://127.0.0.1:1/0", "nowhere:"),  # nothing listens on port 1
            config_budgets=[parse_budget(SALES)],
            clock=clock,
            fail_mode=mode,
            on_counters_down=on_down,
        )

    async def scenario() -> None:
        open_guard = make("open")
        decision = await open_guard.check(request())
        assert decision.guardrails == ("budget_unchecked",) and decision.ticket is None
        await open_guard.check(request())  # a second failure within the minute: no new alert
        await asyncio.sleep(0.2)
        closed = make("closed")
        with pytest.raises(Rejection) as caught:
            await closed.check(request())
        assert caught.value.status == 503 and "fail closed" in caught.value.message
        await asyncio.sleep(0.2)
        errors = open_guard.metrics.counter_errors.labels("open")._value.get()
        assert errors == 2

    run(scenario())
    assert [mode for mode, _ in raised] == ["open", "closed"]
    with ledger.connect() as conn:
        rows = conn.execute(select(budget_alerts)).mappings().all()
    assert len(rows) == 1  # one alert per hour, however often it happens
    alert = Alert.from_row(rows[0])
    assert alert.kind == "counters_down" and alert.status == "no_channel"
    assert headline(alert).startswith("Budget counters unreachable")


def test_the_period_follows_the_clock_both_ways(ledger: Engine) -> None:
    write_calls(ledger, [call(date(2026, 11, 30), 10 * USD + 1, team="sales", hour=23)])
    clock = Clock(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))
    g = guard(ledger, clock, SALES)

    async def scenario() -> None:
        await g.refresh()
        assert (await g.check(request())).ticket is not None  # December: fresh
        clock.at = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)  # set back a second
        with pytest.raises(Rejection):
            await g.check(request())  # November again: still over its limit
        clock.at = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
        assert (await g.check(request())).ticket is not None

    run(scenario())
