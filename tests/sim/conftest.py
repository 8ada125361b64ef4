"""Shared helpers for the simulator tests: a fake clock, in-process clients, SSE parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from aifinops.pricing.catalog import Catalog
from aifinops.sim import SimConfig, create_sim_app

OPENAI_HEADERS = {"authorization": "Bearer sk-test"}
ANTHROPIC_HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


class FakeClock:
    """A clock tests move by hand; every sleep is recorded and advances time at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def sim_client(
    catalog: Catalog, config: SimConfig | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a fresh simulator app in-process."""
    app = create_sim_app(config or SimConfig(clock=FakeClock()), catalog=catalog)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def sse_events(text: str) -> Iterator[tuple[str | None, str]]:
    """(event name, data) of each server-sent event in a response body."""
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        yield name, "\n".join(data)


def sse_json(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of a stream, without the ``[DONE]`` sentinel."""
    return [json.loads(data) for _, data in sse_events(text) if data != "[DONE]"]


def chat(content: str = "Hello", model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def message(
    content: str = "Hello", model: str = "claude-sonnet-4-6", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": 1024}
    body["messages"] = [{"role": "user", "content": content}]
    body.update(extra)
    return body
