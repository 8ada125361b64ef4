"""GET /api/v1/reconcile equals `aifinops reconcile --format json`; GET /api/v1/ingest
shows the pulls. On a ledger of this module's own (it writes provider reports), on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.api import create_api_app
from aifinops.cli import app
from aifinops.ingest import anthropic_admin
from aifinops.ingest.provider_store import CostRow, ReportRow, UsageRow, pull_report, replace_days
from aifinops.ledger.schema import rollup_hourly
from aifinops.settings import ReportSettings, ScheduledProvider, Settings
from aifinops.usage import Usage
from tests.api.conftest import BACKENDS, Client, Filled, filled_ledger
from tests.ingest.fake_admin import FakeState, Fault, serve
from tests.ingest.test_anthropic_admin import COST, USAGE, cost_result, usage_result

runner = CliRunner()
_SOURCES = {
    "anthropic": ("anthropic:usage", "anthropic:cost"),
    "openai": ("openai:usage_completions", "openai:costs"),
}


def add_provider_reports(engine: Engine) -> None:
    """Provider reports over the synthetic company's days: 25% more usage than the ledger
    saw (shadow spend), billed 10% under list for Anthropic (a discount)."""
    r = rollup_hourly.c
    tokens = ("input_tokens", "cache_read_tokens", "output_tokens")
    stmt = (
        select(r.day, r.provider, r.model, *(func.sum(r[t]) for t in tokens))
        .where(r.provider.in_(_SOURCES))
        .group_by(r.day, r.provider, r.model)
    )
    with engine.connect() as conn:
        groups = conn.execute(stmt).all()
    by_source: dict[str, dict[date, list[ReportRow]]] = {}
    for day_value, provider, model, inputs, reads, outputs in groups:
        day = day_value if isinstance(day_value, date) else date.fromisoformat(str(day_value))
        usage = Usage(
            input_tokens=int(inputs) * 5 // 4,
            cache_read_tokens=int(reads) * 5 // 4,
            output_tokens=int(outputs) * 5 // 4,
        )
        start = datetime.combine(day, time(), UTC)
        usage_source, cost_source = _SOURCES[provider]
        by_source.setdefault(usage_source, {}).setdefault(day, []).append(
            UsageRow(bucket_start=start, bucket_width="1d", usage=usage, model=model)
        )
        cost = (int(inputs) * 3 + int(outputs) * 15) * (900 if provider == "anthropic" else 1000)
        by_source.setdefault(cost_source, {}).setdefault(day, []).append(
            CostRow(day=day, cost_nusd=cost, model=model, line_item=f"{model} usage")
        )
    for source, days in by_source.items():
        replace_days(engine, source, source.split(":")[0], days)


@pytest.fixture(scope="module", params=BACKENDS)
def reported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    with filled_ledger(request, tmp_path_factory, "api-reports") as data:
        add_provider_reports(data.engine)
        yield data


@pytest.fixture(scope="module")
def reports_client(reported: Filled) -> Iterator[Client]:
    settings = Settings(reports=ReportSettings(schedule=(ScheduledProvider("anthropic"),)))
    client = Client(create_api_app(settings, reported.engine))
    yield client
    client.close()


def cli_json(url: str, *args: str, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> Any:
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.delenv("AIFINOPS_RECONCILE_THRESHOLD_PCT", raising=False)
    result = runner.invoke(app, ["reconcile", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def without_time(doc: dict[str, Any]) -> dict[str, Any]:
    doc["meta"].pop("generated_at")
    return doc


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("month=2026-10", ("--month", "2026-10")),
        (
            "from=2026-10-29&to=2026-10-30&threshold=50",
            ("--from", "2026-10-29", "--to", "2026-10-30", "--threshold", "50"),
        ),
    ],
)
def test_reconcile_is_the_cli_document(
    reported: Filled,
    reports_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    query: str,
    args: tuple[str, ...],
) -> None:
    response = reports_client.get(f"/api/v1/reconcile?{query}", headers=reported.headers("finance"))
    assert response.status_code == 200, response.text
    api = response.json()
    cli = cli_json(reported.url, *args, monkeypatch=monkeypatch, tmp=tmp_path)
    assert without_time(api) == without_time(cli)
    assert api["meta"]["providers_reported"] == ["anthropic", "openai"]
    assert api["rows"] and all(r["billed_cost_usd"] is not None for r in api["rows"])
    untracked = sum(float(r["untracked_cost_usd"] or 0) for r in api["rows"])
    assert untracked > 0  # the 25% the ledger never saw


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-13", "month"),
        ("month=2026-10&from=2026-10-01", "month"),
        ("from=2026-10-01", "to"),
        ("from=2026-10-05&to=2026-10-01", "to"),
        ("threshold=-1", "threshold"),
        ("threshold=lots", "threshold"),
    ],
)
def test_bad_reconcile_parameters_name_the_field(
    reported: Filled, reports_client: Client, query: str, field: str
) -> None:
    response = reports_client.get(f"/api/v1/reconcile?{query}", headers=reported.headers("admin"))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_ingest_shows_each_source_with_its_last_error(
    reported: Filled, reports_client: Client
) -> None:
    key = "sk-ant-admin-api-test"
    august = [datetime(2026, 8, 1, tzinfo=UTC) + timedelta(days=i) for i in range(3)]
    state = FakeState(
        buckets={
            USAGE: [(d, [usage_result()]) for d in august],
            COST: [(d, [cost_result()]) for d in august],
        },
        key_header=("x-api-key", key),
    )
    for fake in serve("anthropic", state):
        client = anthropic_admin.make_client(fake.url, key, sleep=lambda _s: None)
        usage_spec, cost_spec = anthropic_admin.report_specs()
        first, last = date(2026, 8, 1), date(2026, 8, 3)
        state.fail_with = Fault(500, body={"error": {"message": f"down ({key})"}})
        assert pull_report(reported.engine, client, usage_spec, first, last).error
        state.fail_with = None
        assert pull_report(reported.engine, client, usage_spec, first, last).ok
        state.fail_with = Fault(403, body={"error": {"message": "not an admin key"}})
        assert pull_report(reported.engine, client, cost_spec, first, last).error
    response = reports_client.get("/api/v1/ingest", headers=reported.headers("admin"))
    assert response.status_code == 200, response.text
    doc = response.json()
    rows = {r["source"]: r for r in doc["rows"]}
    usage, cost = rows["anthropic:usage"], rows["anthropic:cost"]
    assert (usage["status"], usage["error"], usage["days_done"]) == ("complete", None, 3)
    assert usage["last_error"].startswith("anthropic /v1/organizations/usage_report/messages")
    assert "[redacted]" in usage["last_error"] and key not in response.text
    assert (usage["runs_complete"], usage["runs_failed"]) == (1, 1)
    assert usage["first_day"] == "2026-08-01" and usage["last_success_at"].endswith("Z")
    assert cost["status"] == "failed" and "ANTHROPIC_ADMIN_API_KEY" in cost["error"]
    assert cost["last_success_at"] is None and cost["last_error"] == cost["error"]
    windows = {(w["provider"], w["window"]): w for w in doc["meta"]["schedule"]}
    assert set(windows) == {("anthropic", "recent"), ("anthropic", "week")}
    assert windows[("anthropic", "recent")]["sources"] == ["anthropic:usage", "anthropic:cost"]
    assert windows[("anthropic", "week")]["interval_s"] == 86400
