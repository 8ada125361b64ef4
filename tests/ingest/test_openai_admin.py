"""`aifinops import openai` against a local fake Admin API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ingest.openai_admin import canonical_usage, split_line_item
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema_reports import provider_costs, provider_usage
from tests.ingest.fake_admin import FakeServer, FakeState, Fault, serve

COMPLETIONS = "/v1/organization/usage/completions"
EMBEDDINGS = "/v1/organization/usage/embeddings"
COSTS = "/v1/organization/costs"
DAY0 = datetime(2026, 8, 1, tzinfo=UTC)
runner = CliRunner()


def completions(model: str = "gpt-5", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1000,
        "input_cached_tokens": 800,
        "output_tokens": 500,
        "num_model_requests": 5,
        "project_id": "proj_abc",
        "user_id": None,
        "api_key_id": None,
        "model": model,
        "batch": False,
        "service_tier": "default",
    }
    row.update(overrides)
    return row


def costs(value: float | str = 0.06, currency: str = "usd") -> dict[str, Any]:
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": currency},
        "line_item": "gpt-5, input",
        "project_id": "proj_abc",
        "api_key_id": None,
        "quantity": 12345,
    }


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    buckets = [DAY0 + timedelta(days=i) for i in range(3)]
    state = FakeState(
        buckets={
            COMPLETIONS: [(d, [completions()]) for d in buckets],
            EMBEDDINGS: [
                (d, [{"input_tokens": 70, "num_model_requests": 2, "model": "x-embed"}])
                for d in buckets
            ],
            COSTS: [(d, [costs()]) for d in buckets],
        },
        key_header=("Authorization", "Bearer sk-admin-test"),
    )
    yield from serve("openai", state)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeServer) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.setenv("OPENAI_ADMIN_API_KEY", "sk-admin-test")
    monkeypatch.setenv("AIFINOPS_OPENAI_ADMIN_BASE_URL", fake.url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"input_tokens": 1000, "input_cached_tokens": 800, "output_tokens": 5}, (200, 800, 0)),
        (
            {"input_tokens": 1000, "input_cached_tokens": 500, "input_cache_write_tokens": 100},
            (400, 500, 100),
        ),
        (
            {"input_tokens": 1000, "input_uncached_tokens": 300, "input_cached_tokens": 700},
            (300, 700, 0),
        ),
    ],
)
def test_input_includes_cache_so_it_is_split(
    row: dict[str, Any], expected: tuple[int, ...]
) -> None:
    usage = canonical_usage(row)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_5m_tokens) == expected


def test_line_items() -> None:
    assert split_line_item("gpt-4o, input") == ("gpt-4o", "input")
    assert split_line_item("Web search tool calls") == (None, None)


def test_pull_completions_embeddings_and_costs(env: str, fake: FakeServer) -> None:
    fake.state.faults = [Fault(429, "0")]
    code, out, err = run("import", "openai", "--from", "2026-08-01", "--to", "2026-08-03")
    assert code == 0, err
    assert "openai:usage_embeddings: 3 days stored" in out
    engine = open_ledger(env)
    with engine.connect() as conn:
        inputs = conn.scalar(select(func.sum(provider_usage.c.input_tokens)))
        cached = conn.scalar(select(func.sum(provider_usage.c.cache_read_tokens)))
        cost = conn.scalar(select(func.sum(provider_costs.c.cost_nusd)))
        model = conn.scalar(select(provider_costs.c.model))
    engine.dispose()
    assert inputs == 3 * 200 + 3 * 70 and cached == 3 * 800
    assert cost == 3 * 60_000_000 and model == "gpt-5"  # $0.06, exact, never a float
    path, query = fake.state.requests[1]
    assert path == COMPLETIONS and query["start_time"] == [str(int(DAY0.timestamp()))]
    assert query["group_by"] == ["model", "project_id", "api_key_id", "batch", "service_tier"]
    # again: replaced, not doubled
    assert run("import", "openai", "--from", "2026-08-01", "--to", "2026-08-03")[0] == 0
    engine = open_ledger(env)
    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(provider_costs.c.cost_nusd))) == cost
    engine.dispose()


def test_non_usd_and_bad_counts_are_reported(env: str, fake: FakeServer) -> None:
    fake.state.buckets[COSTS][0] = (DAY0, [costs(), costs(currency="eur")])
    fake.state.buckets[COMPLETIONS][0] = (DAY0, [completions(input_cached_tokens=5000)])
    code, _, err = run("import", "openai", "--from", "2026-08-01", "--to", "2026-08-03")
    assert code == 1
    assert "'eur' is not USD" in err
    assert "exceed input_tokens" in err


def test_amounts_are_decimals() -> None:
    from aifinops.ingest.openai_admin import parse_cost_result

    row = parse_cost_result(costs(Decimal("0.1234567891")), DAY0.date())
    assert row.cost_nusd == 123_456_789
