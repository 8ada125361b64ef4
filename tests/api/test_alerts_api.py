"""``GET /api/v1/alerts``: the alerts fired, exactly as ``aifinops alerts list --format
json`` lists them, in the reader's scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from aifinops.api import create_api_app
from aifinops.cli import app
from aifinops.governance.alerts import alert_id
from aifinops.governance.runner import run_alerts
from aifinops.governance.store import put_budget
from aifinops.ledger.schema_governance import budget_alerts
from aifinops.settings import load_settings
from tests.api.conftest import BACKENDS, Client, Filled, filled_ledger

#: Run-time budgets small enough that every threshold fires: two teams' and a feature's.
TINY = (
    {"id": "support-tiny", "scope": "team", "name": "support", "amount_usd": "0.01"},
    {"id": "sales-tiny", "scope": "team", "name": "sales", "amount_usd": "0.01"},
    {"id": "triage-tiny", "scope": "feature", "name": "ticket-triage", "amount_usd": "0.01"},
)
AT = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


def _anomaly(subject: str, team: str) -> dict[str, Any]:
    day = datetime(2026, 10, 30, tzinfo=UTC)
    return {
        "alert_id": alert_id(subject, day, "anomaly", 0),
        "subject": subject,
        "period_start": day,
        "kind": "anomaly",
        "level": 0,
        "fired_at": datetime(2026, 10, 30, 1, tzinfo=UTC),
        "spend_nusd": 5_000_000_000,
        "limit_nusd": 1_000_000_000,
        "details": {"team": team},
        "channel": None,
        "status": "no_channel",
        "attempts": 0,
        "last_error": None,
        "delivered_at": None,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def alerted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Filled, Client]]:
    """The synthetic company with its config, three tiny run-time budgets evaluated at
    the end of October, and two hand-made anomalies (a team's, a feature's)."""
    with filled_ledger(request, tmp_path_factory, "alerts") as data:
        settings = load_settings({}, config_path=data.folder / "aifinops.yaml")
        with data.engine.begin() as conn:
            for raw in TINY:
                put_budget(conn, dict(raw), "cli:test", "cli", config=settings.budgets)
            conn.execute(
                budget_alerts.insert(),
                [_anomaly("team:support", "support"), _anomaly("feature:ticket-triage", "support")],
            )
        assert run_alerts(data.engine, settings, at=AT).new
        client = Client(create_api_app(settings, data.engine))
        try:
            yield data, client
        finally:
            client.close()


def cli_list(data: Filled, *args: str) -> dict[str, Any]:
    env = {"AIFINOPS_DATABASE_URL": data.url, "AIFINOPS_CONFIG": str(data.folder / "aifinops.yaml")}
    result = CliRunner().invoke(app, ["alerts", "list", "--format", "json", *args], env=env)
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_rows_are_the_clis(alerted: tuple[Filled, Client]) -> None:
    data, client = alerted
    cli = cli_list(data, "--limit", "1000")
    api = client.get("/api/v1/alerts?limit=1000", headers=data.headers("finance"))
    assert api.status_code == 200, api.text
    doc = api.json()
    assert doc["rows"] == cli["rows"] and doc["totals"] == cli["totals"]
    kinds = {r["kind"] for r in doc["rows"]}
    assert {"threshold", "hard_limit", "anomaly"} <= kinds
    assert {r["subject"] for r in doc["rows"]} >= {t["id"] for t in TINY}
    assert doc["meta"]["scope"] is None and doc["meta"]["limit"] == 1000

    filtered = cli_list(
        data, "--since", "2026-10-31", "--status", "no_channel", "--kind", "threshold"
    )
    for query in (
        "since=2026-10-31&status=no_channel&kind=threshold",
        "from=2026-10-31&to=2026-12-31&status=no_channel,pending&kind=threshold",
    ):
        got = client.get(f"/api/v1/alerts?{query}", headers=data.headers("admin")).json()
        assert got["rows"] == filtered["rows"] and got["rows"]
    until = client.get("/api/v1/alerts?to=2026-10-30", headers=data.headers("admin")).json()
    assert {r["subject"] for r in until["rows"]} == {"team:support", "feature:ticket-triage"}
    two = client.get("/api/v1/alerts?limit=2", headers=data.headers("admin")).json()
    assert two["rows"] == cli["rows"][:2]


def test_pages_follow_the_cursor_to_every_alert_once(alerted: tuple[Filled, Client]) -> None:
    data, client = alerted
    every = cli_list(data, "--limit", "1000")["rows"]
    assert len(every) > 3
    seen: list[dict[str, Any]] = []
    url = "/api/v1/alerts?limit=3"
    while True:
        page = client.get(url, headers=data.headers("admin")).json()
        assert len(page["rows"]) <= 3
        seen += page["rows"]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
        url = f"/api/v1/alerts?limit=3&cursor={cursor}"
    assert seen == every  # same order, none twice, none left out
    # a team's pages stay in its scope
    role = "team:sales"
    first = client.get("/api/v1/alerts?limit=1", headers=data.headers(role)).json()
    rest = client.get(
        f"/api/v1/alerts?limit=1000&cursor={first['meta']['next_cursor']}",
        headers=data.headers(role),
    ).json()
    whole = client.get("/api/v1/alerts?limit=1000", headers=data.headers(role)).json()
    assert first["rows"] + rest["rows"] == whole["rows"]
    assert rest["meta"]["next_cursor"] is None


@pytest.mark.parametrize("team", ["support", "sales"])
def test_a_team_sees_its_budgets_alerts_and_its_anomalies(
    alerted: tuple[Filled, Client], team: str
) -> None:
    data, client = alerted
    role = f"team:{team}"
    budgets = client.get("/api/v1/budgets", headers=data.headers(role)).json()["rows"]
    ids = {b["id"] for b in budgets}
    assert ids == {f"team:{team}", f"{team}-tiny"}
    expected = [
        r
        for r in cli_list(data, "--limit", "1000")["rows"]
        if (r["kind"] != "anomaly" and r["subject"] in ids)
        or (r["kind"] == "anomaly" and r["subject"] == role)
    ]
    doc = client.get("/api/v1/alerts?limit=1000", headers=data.headers(role)).json()
    assert doc["rows"] == expected and expected
    assert doc["meta"]["scope"] == role
    assert "triage-tiny" not in {r["subject"] for r in doc["rows"]}  # a feature's: out
    assert "feature:ticket-triage" not in {r["subject"] for r in doc["rows"]}
    assert (team == "support") == any(r["kind"] == "anomaly" for r in doc["rows"])


def test_customers_may_not_and_bad_parameters_name_the_field(
    alerted: tuple[Filled, Client],
) -> None:
    data, client = alerted
    refused = client.get("/api/v1/alerts", headers=data.headers("customer:cust-001"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    admin = data.headers("admin")
    for query, field in (
        ("since=yesterday-ish", "since"),
        ("from=2026-13-01", "from"),
        ("to=31-10-2026", "to"),
        ("from=2026-10-31&to=2026-10-01", "to"),
        ("since=2026-10-01&from=2026-10-01", "since"),
        ("status=lost", "status"),
        ("kind=threshold,panic", "kind"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ):
        response = client.get(f"/api/v1/alerts?{query}", headers=admin)
        assert response.status_code == 400, (query, response.text)
        error = response.json()["error"]
        assert error["field"] == field, (query, error)
        assert error["code"] == "invalid_parameter"
