"""`aifinops import anthropic` against a local fake Admin API: shapes, pages, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ingest import anthropic_admin
from aifinops.ingest.admin_http import AdminAPIError, HttpResponse, iter_pages, retry_after_s
from aifinops.ingest.provider_store import pull_report
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema_reports import ingest_days, ingest_runs, provider_costs, provider_usage
from tests.ingest.fake_admin import FakeServer, FakeState, Fault, serve

USAGE = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
DAY0 = datetime(2026, 8, 1, tzinfo=UTC)
runner = CliRunner()


def usage_result(model: str = "claude-sonnet-4-6", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "uncached_input_tokens": 1500,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 0},
        "cache_read_input_tokens": 200,
        "output_tokens": 500,
        "server_tool_use": {"web_search_requests": 1},
        "api_key_id": "apikey_01",
        "workspace_id": "wrkspc_01",
        "model": model,
        "service_tier": "standard",
        "context_window": "0-200k",
    }
    row.update(overrides)
    return row


def cost_result(amount: str = "450.00", currency: str = "USD", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "workspace_id": "wrkspc_01",
        "description": "Claude Sonnet 4.6 Usage - Input Tokens",
        "cost_type": "tokens",
        "token_type": "uncached_input_tokens",
        "model": "claude-sonnet-4-6",
        "service_tier": "standard",
        "context_window": "0-200k",
        "inference_geo": None,
    }
    row.update(overrides)
    return row


def days(n: int) -> list[datetime]:
    return [DAY0 + timedelta(days=i) for i in range(n)]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    state = FakeState(
        buckets={
            USAGE: [(d, [usage_result()]) for d in days(5)],
            COST: [(d, [cost_result()]) for d in days(5)],
        }
    )
    yield from serve("anthropic", state)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeServer) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", "sk-ant-admin-test")
    monkeypatch.setenv("AIFINOPS_ANTHROPIC_ADMIN_BASE_URL", fake.url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    return url


def totals(url: str) -> tuple[int, int, int, int]:
    engine = open_ledger(url)
    with engine.connect() as conn:
        usage_rows = conn.scalar(select(func.count()).select_from(provider_usage))
        tokens = conn.scalar(select(func.sum(provider_usage.c.input_tokens)))
        cost_rows = conn.scalar(select(func.count()).select_from(provider_costs))
        cost = conn.scalar(select(func.sum(provider_costs.c.cost_nusd)))
    engine.dispose()
    return int(usage_rows or 0), int(tokens or 0), int(cost_rows or 0), int(cost or 0)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_pull_stores_the_canonical_split_and_cents_as_nano_usd(env: str, fake: FakeServer) -> None:
    code, out, err = run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-05")
    assert code == 0, err
    assert "anthropic:usage: 5 days stored" in out
    assert totals(env) == (5, 5 * 1500, 5, 5 * 4_500_000_000)  # "450.00" cents = $4.50
    engine = open_ledger(env)
    with engine.connect() as conn:
        row = conn.execute(select(provider_usage)).mappings().first()
    engine.dispose()
    assert row is not None
    assert (row["cache_read_tokens"], row["cache_write_5m_tokens"], row["output_tokens"]) == (
        200,
        1000,
        500,
    )
    assert row["web_search_requests"] == 1 and row["account_id"] == "wrkspc_01"
    # the documented query: RFC 3339 window, exclusive end, group_by[] arrays, x-api-key
    path, query = fake.state.requests[0]
    assert path == USAGE
    assert query["starting_at"] == ["2026-08-01T00:00:00Z"]
    assert query["ending_at"] == ["2026-08-06T00:00:00Z"]
    assert "model" in query["group_by[]"] and query["bucket_width"] == ["1d"]


def test_repulling_a_day_replaces_it(env: str, fake: FakeServer) -> None:
    assert run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-05")[0] == 0
    fake.state.buckets[COST][2] = (fake.state.buckets[COST][2][0], [cost_result("100.00")])
    assert run("import", "anthropic", "--from", "2026-08-03", "--to", "2026-08-03")[0] == 0
    assert totals(env) == (5, 5 * 1500, 5, 4 * 4_500_000_000 + 1_000_000_000)


def test_overlapping_pages_are_counted_once(env: str, fake: FakeServer) -> None:
    fake.state.overlap = True
    code, out, _ = run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-05")
    assert code == 0
    assert (
        "repeated rows merged" in out and "0 repeated" not in out.split("anthropic:usage")[1][:80]
    )
    assert totals(env) == (5, 5 * 1500, 5, 5 * 4_500_000_000)


def test_429_and_500_are_retried_honouring_retry_after(env: str, fake: FakeServer) -> None:
    slept: list[float] = []
    fake.state.faults = [Fault(429, "2"), Fault(500, "0"), Fault(503)]
    client = anthropic_admin.make_client(
        fake.url, "sk-ant-admin-test", sleep=slept.append, backoff_s=0.25
    )
    engine = open_ledger(env)
    result = pull_report(
        engine, client, anthropic_admin.report_specs()[0], date(2026, 8, 1), date(2026, 8, 5)
    )
    engine.dispose()
    assert result.ok and result.days_done == 5
    assert slept == [2.0, 0.0, 1.0]  # Retry-After wins; without it, 0.25 × 2^2


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 8, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("Sat, 01 Aug 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_s("garbage", now) is None


def test_interrupted_pull_keeps_finished_days_and_resumes(env: str, fake: FakeServer) -> None:
    fake.state.die_after_pages = 1  # first page (2 days) then 500 for ever
    client = anthropic_admin.make_client(
        fake.url, "sk-ant-admin-test", sleep=lambda _s: None, max_retries=1
    )
    spec = anthropic_admin.report_specs()[0]
    engine = open_ledger(env)
    first = pull_report(engine, client, spec, date(2026, 8, 1), date(2026, 8, 5))
    assert not first.ok and "gave up after 2 attempts" in (first.error or "")
    assert first.days_done == 1  # day 1 complete; day 2 waits for a later bucket
    fake.state.die_after_pages = None
    second = pull_report(engine, client, spec, date(2026, 8, 1), date(2026, 8, 5), resume=True)
    assert second.ok and second.days_skipped == 1 and second.days_done == 4
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ingest_days)) == 5
        statuses = sorted(conn.scalars(select(ingest_runs.c.status)))
        assert conn.scalar(select(func.count()).select_from(provider_usage)) == 5
    engine.dispose()
    assert statuses == ["complete", "failed"]


def test_bad_rows_are_reported_and_the_rest_imported(env: str, fake: FakeServer) -> None:
    broken = usage_result()
    del broken["output_tokens"]
    fake.state.buckets[USAGE][0] = (DAY0, [usage_result(), broken])
    fake.state.buckets[USAGE][1] = (DAY0 + timedelta(days=1), [usage_result("claude-nova-9")])
    fake.state.buckets[COST][0] = (DAY0, [cost_result(), cost_result(currency="EUR", model="x")])
    code, _, err = run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-05")
    assert code == 1
    assert "output_tokens: is missing; row skipped" in err
    assert "'EUR' is not USD" in err
    assert "model 'claude-nova-9': has no list price" in err and "(stored)" in err
    assert totals(env) == (5, 5 * 1500, 5, 5 * 4_500_000_000)


def test_a_refused_key_names_the_variable(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", "wrong")
    code, _, err = run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-01")
    assert code == 1
    assert "HTTP 401" in err and "ANTHROPIC_ADMIN_API_KEY" in err


def test_missing_key_is_a_usage_error(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_ADMIN_API_KEY")
    code, _, err = run("import", "anthropic", "--from", "2026-08-01", "--to", "2026-08-01")
    assert code == 2 and "ANTHROPIC_ADMIN_API_KEY is not set" in err


def test_client_raises_on_a_looping_cursor() -> None:
    page = json.dumps({"data": [], "has_more": True, "next_page": "same"}).encode()

    def transport(*_args: object) -> HttpResponse:
        return HttpResponse(200, {}, page)

    client = anthropic_admin.make_client("http://127.0.0.1:9", "k", transport=transport)
    with pytest.raises(AdminAPIError, match="repeats"):
        list(iter_pages(client, USAGE, []))
