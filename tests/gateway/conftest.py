"""Fixtures: one simulator process per session, a gateway process per test that needs one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.gateway.keys import create_key
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import gateway_rejections, usage_events
from tests.gateway.procs import Proc, gateway_env, gateway_process, sim_process


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    with sim_process(tmp_path_factory.mktemp("sim")) as proc:
        yield proc


@dataclass
class Gateway:
    proc: Proc
    engine: Engine
    key: str
    key_id: str
    folder: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.proc.url

    def openai(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("api_key", self.key)
        return openai.OpenAI(base_url=f"{self.url}/openai/v1", max_retries=0, timeout=30, **kwargs)

    def anthropic(self, **kwargs: Any) -> anthropic.Anthropic:
        kwargs.setdefault("api_key", self.key)
        return anthropic.Anthropic(
            base_url=f"{self.url}/anthropic", max_retries=0, timeout=30, **kwargs
        )

    def rows(self, expected: int, timeout: float = 15) -> list[dict[str, Any]]:
        """The ledger's events once there are ``expected`` of them (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.connect() as conn:
                found = [
                    dict(r._mapping)
                    for r in conn.execute(select(usage_events).order_by(usage_events.c.ts))
                ]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def rejections(self, expected: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.connect() as conn:
                found = [
                    dict(r._mapping)
                    for r in conn.execute(
                        select(gateway_rejections).order_by(gateway_rejections.c.ts)
                    )
                ]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def make_ledger(
    folder: Path, team: str = "search", feature: str | None = None
) -> tuple[Engine, str, str, str]:
    db_url = f"sqlite:///{folder / 'ledger.db'}"
    engine = open_ledger(db_url)
    with engine.begin() as conn:
        record, secret = create_key(conn, team, feature, "test")
    return engine, db_url, secret, record.key_id


@pytest.fixture
def gateway_factory(sim: Proc, tmp_path: Path) -> Iterator[Any]:
    engines: list[Engine] = []
    stack: list[Any] = []

    def start(**extra: str) -> Gateway:
        folder = tmp_path / f"gw{len(stack)}"
        folder.mkdir()
        engine, db_url, secret, key_id = make_ledger(folder)
        engines.append(engine)
        env = gateway_env(sim.url, db_url, folder / "spool", **extra)
        cm = gateway_process(env, folder / "gateway.log")
        proc = cm.__enter__()
        stack.append(cm)
        return Gateway(proc, engine, secret, key_id, folder, env)

    try:
        yield start
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)
        for engine in engines:
            engine.dispose()


@pytest.fixture
def gateway(gateway_factory: Any) -> Gateway:
    gw: Gateway = gateway_factory()
    return gw
