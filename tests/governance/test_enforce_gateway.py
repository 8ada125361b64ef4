"""Two gateway processes sharing Redis and PostgreSQL hold a budget under 200 concurrent
requests: `block` overshoots by at most one worst-case request per process and refuses
nothing while spend plus in-flight is under the limit; `throttle` passes no more requests
a minute than it allows. Real processes, the official Anthropic SDK as the client."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from aifinops.gateway.keys import create_key
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import gateway_rejections, usage_events
from aifinops.money import usd_to_nusd
from aifinops.pricing import PricingEngine
from aifinops.usage import Usage
from tests.conftest import RUN_ID
from tests.gateway.procs import Proc, gateway_env, gateway_process, sim_process

USD = 10**9
PROMPT = "Summarise the renewal risk of this account in two sentences. " * 8
MAX_TOKENS = 300
REQUESTS = 200


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    with sim_process(tmp_path_factory.mktemp("sim")) as proc:
        yield proc


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    import psycopg

    schema = f"aifinops_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def worst_case_nusd() -> int:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    size = len(str(body).encode()) + 200  # the SDK's JSON is about this size; be generous
    price = PricingEngine().price(
        "anthropic",
        "claude-haiku-4-5",
        datetime.now(UTC),
        Usage(input_tokens=size // 4, output_tokens=MAX_TOKENS),
    )
    assert price.effective_cost_nusd is not None
    return price.effective_cost_nusd


def start_two(
    sim: Proc,
    tmp_path: Path,
    url: str,
    redis_url: str,
    prefix: str,
    budget: dict[str, Any],
    stack: ExitStack,
) -> tuple[Engine, str, list[Proc]]:
    engine = open_ledger(url)
    with engine.begin() as conn:
        _, secret = create_key(conn, "sales", None, "sales app")
    config = tmp_path / "aifinops.yaml"
    config.write_text(yaml.safe_dump({"budgets": [budget]}))
    procs = []
    for i in range(2):
        folder = tmp_path / f"gw{i}"
        folder.mkdir()
        env = gateway_env(
            sim.url,
            url,
            folder / "spool",
            AIFINOPS_CONFIG=str(config),
            AIFINOPS_REDIS_URL=redis_url,
            AIFINOPS_REDIS_PREFIX=prefix,
        )
        procs.append(stack.enter_context(gateway_process(env, folder / "gateway.log")))
    return engine, secret, procs


async def fire(procs: list[Proc], key: str) -> list[tuple[bool, str, datetime]]:
    clients = [
        anthropic.AsyncAnthropic(
            base_url=f"{p.url}/anthropic", api_key=key, max_retries=0, timeout=60
        )
        for p in procs
    ]

    async def one(i: int) -> tuple[bool, str, datetime]:
        client = clients[i % len(clients)]
        try:
            await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=MAX_TOKENS,
                messages=[{"role": "user", "content": PROMPT}],
            )
            return True, "", datetime.now(UTC)
        except anthropic.RateLimitError as exc:
            return False, str(exc), datetime.now(UTC)

    try:
        return list(await asyncio.gather(*(one(i) for i in range(REQUESTS))))
    finally:
        for client in clients:
            await client.close()


def _sales(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        calls, cost = conn.execute(
            select(
                func.count(), func.coalesce(func.sum(usage_events.c.effective_cost_nusd), 0)
            ).where(usage_events.c.team == "sales")
        ).one()
    return int(calls), int(cost)


def team_spend(engine: Engine, expected_calls: int) -> tuple[int, int]:
    """(calls, cost) of team sales once every admitted call is recorded (and a moment
    more, so a call beyond them would show)."""
    deadline = time.monotonic() + 15
    while _sales(engine)[0] < expected_calls and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    return _sales(engine)


_AMOUNTS = re.compile(r"spent \$([\d.,]+) \+ \$([\d.,]+) in flight of the \$([\d.,]+) limit")


def test_block_holds_across_two_processes(
    sim: Proc, tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    budget = {
        "scope": "team",
        "name": "sales",
        "amount_usd": "0.02",
        "hard_limit_pct": 105,
        "thresholds": [50, 75, 90],
        "action": "block",
    }
    limit = usd_to_nusd(str(budget["amount_usd"])) * 105 // 100
    with ExitStack() as stack:
        engine, key, procs = start_two(
            sim, tmp_path, pg_url, redis_url, redis_prefix, budget, stack
        )
        results = asyncio.run(fire(procs, key))
        admitted = sum(ok for ok, _, _ in results)
        refusals = [msg for ok, msg, _ in results if not ok]
        assert admitted > 5 and refusals, (admitted, len(refusals))
        calls, spent = team_spend(engine, admitted)
        assert calls == admitted
        worst = worst_case_nusd()
        assert spent <= limit + 2 * worst, (spent, limit, worst, admitted)
        for message in refusals:
            assert "budget team:sales" in message and "team sales" in message
            found = _AMOUNTS.search(message)
            assert found, message
            s, r, lim = (float(g.replace(",", "")) for g in found.groups())
            assert s + r >= lim - 1e-6, message  # refused only at or over the limit
        with engine.connect() as conn:
            reasons = conn.execute(
                select(gateway_rejections.c.reason, func.count()).group_by(
                    gateway_rejections.c.reason
                )
            ).all()
        engine.dispose()
    counted = {str(reason): int(n) for reason, n in reasons}
    assert counted.get("budget_blocked") == len(refusals)
    assert_checked(tmp_path)


def assert_checked(folder: Path) -> None:
    """Every admission went through the shared counters (none fell back to fail-open)."""
    for log in folder.glob("gw*/gateway.log"):
        assert "admitting unchecked" not in log.read_text(), log.read_text()[-2000:]


def test_throttle_passes_no_more_than_allowed_a_minute(
    sim: Proc, tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    budget = {
        "scope": "team",
        "name": "sales",
        "amount_usd": "0.000001",
        "action": "throttle",
        "throttle_rpm": 10,
    }
    with ExitStack() as stack:
        engine, key, procs = start_two(
            sim, tmp_path, pg_url, redis_url, redis_prefix, budget, stack
        )
        first = asyncio.run(fire(procs[:1], key))  # one request puts the team over
        assert sum(ok for ok, _, _ in first) >= 1
        results = asyncio.run(fire(procs, key))
        engine.dispose()
    minutes: dict[int, int] = {}
    for ok, message, at in first + results:
        if ok:
            minute = int(at.timestamp()) // 60
            minutes[minute] = minutes.get(minute, 0) + 1
        else:
            assert "throttled to 10 requests a minute" in message
    # one admission before the team was over, then at most 10 in each minute window
    assert all(count <= 11 for count in minutes.values()), minutes
    assert sum(minutes.values()) <= 11 * len(minutes) and sum(minutes.values()) >= 10
    assert_checked(tmp_path)
