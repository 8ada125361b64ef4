"""The budget endpoints: definitions, status, audited writes, roles, and running gateways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aifinops.api import create_api_app
from aifinops.governance.store import BudgetBook
from aifinops.money import nusd_to_usd
from aifinops.settings import Settings, load_settings
from tests.api.conftest import BACKENDS, Client, Filled, filled_ledger

CONFIG_IDS = [
    "team:support",
    "team:sales",
    "team:success",
    "team:platform",
    "feature:ticket-resolution",
]
BODY: dict[str, Any] = {
    "scope": "team",
    "name": "research",
    "amount_usd": "75.25",
    "timezone": "UTC+5",
    "thresholds": [60, 90],
    "hard_limit_pct": 100,
    "action": "downgrade",
    "downgrade": {"claude-opus-4-1": "claude-sonnet-4-5"},
}


@pytest.fixture(scope="module", params=BACKENDS)
def own(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Filled, Client, Settings]]:
    """A ledger of this module's own (it writes budgets), with the synthetic company's
    config file (5 budgets) and a client on it."""
    with filled_ledger(request, tmp_path_factory, "budgets") as data:
        settings = load_settings({}, config_path=data.folder / "aifinops.yaml")
        client = Client(create_api_app(settings, data.engine))
        try:
            yield data, client, settings
        finally:
            client.close()


def test_definitions_by_role(own: tuple[Filled, Client, Settings]) -> None:
    data, client, _ = own
    finance = client.get("/api/v1/budgets", headers=data.headers("finance"))
    assert finance.status_code == 200
    rows = finance.json()["rows"]
    assert [r["id"] for r in rows] == CONFIG_IDS
    assert {r["source"] for r in rows} == {"config"}
    support = client.get("/api/v1/budgets", headers=data.headers("team:support")).json()
    assert [r["id"] for r in support["rows"]] == ["team:support"]
    for role in ("customer:cust-001", "ingest", "metrics"):
        assert client.get("/api/v1/budgets", headers=data.headers(role)).status_code == 403


def test_put_list_delete_audited_and_seen_by_a_running_gateway(
    own: tuple[Filled, Client, Settings],
) -> None:
    data, client, settings = own
    book = BudgetBook(data.engine, settings.budgets)
    book.refresh()
    before = book.version
    finance, admin = data.headers("finance"), data.headers("admin")

    put = client.request("PUT", "/api/v1/budgets/research-q4", json=BODY, headers=finance)
    assert put.status_code == 200, put.text
    stored = put.json()
    assert stored["id"] == "research-q4" and stored["source"] == "api"
    assert stored["amount_usd"] == "75.250000000" and stored["timezone"] == "UTC+5"
    assert stored["downgrade"] == BODY["downgrade"] and stored["throttle_rpm"] == 10

    assert book.refresh() and book.version != before
    seen = book.get("research-q4")
    assert seen is not None and seen.action == "downgrade" and seen.tz_hours == 5
    assert [b.id for b in book.covering({"team": "research"})] == ["research-q4"]

    listed = client.get("/api/v1/budgets", headers=finance).json()["rows"]
    assert [r["id"] for r in listed] == [*CONFIG_IDS, "research-q4"]
    assert listed[-1] == stored
    # a listed row can be PUT back as it is (source and an empty downgrade included)
    again = client.request(
        "PUT", "/api/v1/budgets/research-q4", json={**stored, "action": "block"}, headers=admin
    )
    assert again.status_code == 200, again.text
    assert again.json()["action"] == "block"
    plain = {k: v for k, v in stored.items() if k not in ("downgrade", "action")}
    assert (
        client.request(
            "PUT", "/api/v1/budgets/research-q4", json={**plain, "downgrade": {}}, headers=admin
        ).json()["downgrade"]
        == {}
    )
    assert book.refresh() and book.get("research-q4").action == "throttle"  # type: ignore[union-attr]

    gone = client.request("DELETE", "/api/v1/budgets/research-q4", headers=finance)
    assert gone.status_code == 200 and gone.json() == {"id": "research-q4", "deleted": True}
    missing = client.request("DELETE", "/api/v1/budgets/research-q4", headers=finance)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "budget_id"
    assert book.refresh() and book.get("research-q4") is None and book.version == before

    log = client.get("/api/v1/audit?action=budgets.put", headers=admin).json()["rows"]
    assert [r["target"] for r in log] == ["research-q4"] * 3
    first = log[-1]  # newest first
    assert first["actor"].startswith("token:") and first["via"] == "api"
    assert first["before"] is None and first["after"]["amount_usd"] == "75.250000000"
    assert log[-2]["before"]["action"] == "downgrade" and log[-2]["after"]["action"] == "block"
    deleted = client.get("/api/v1/audit?action=budgets.delete", headers=admin).json()["rows"]
    assert deleted[0]["target"] == "research-q4" and deleted[0]["after"] is None


def test_ids_with_a_slash_and_a_path_id_that_differs(own: tuple[Filled, Client, Settings]) -> None:
    data, client, _ = own
    admin = data.headers("admin")
    body = {"scope": "team", "name": "a/b", "amount_usd": 5}
    put = client.request("PUT", "/api/v1/budgets/team:a/b", json=body, headers=admin)
    assert put.status_code == 200 and put.json()["id"] == "team:a/b"
    assert client.request("DELETE", "/api/v1/budgets/team:a/b", headers=admin).status_code == 200
    wrong = client.request(
        "PUT", "/api/v1/budgets/x", json={**body, "id": "y"}, headers=data.headers("admin")
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "id"


#: (what, body changes, the field the 422 names)
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("negative amount", {"amount_usd": "-5"}, "amount_usd"),
    ("unknown scope", {"scope": "planet"}, "scope"),
    ("thresholds out of order", {"thresholds": [90, 60]}, "thresholds"),
    ("hard limit below the last threshold", {"hard_limit_pct": 80}, "hard_limit_pct"),
    ("downgrade without a map", {"downgrade": None}, "downgrade"),
    ("bad timezone", {"timezone": "UTC+5:30"}, "timezone"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("not a number", {"thresholds": ["x"]}, "thresholds.0"),
]


@pytest.mark.parametrize(("what", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_definitions_are_422_naming_the_field(
    own: tuple[Filled, Client, Settings], what: str, change: dict[str, Any], field: str
) -> None:
    data, client, _ = own
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    response = client.request(
        "PUT", "/api/v1/budgets/bad-one", json=body, headers=data.headers("finance")
    )
    assert response.status_code == 422, what
    error = response.json()["error"]
    assert error["code"] == "invalid_body" and error["field"] == field, error
    assert error["message"].startswith(f"{field}: ") or field in error["message"]
    listed = client.get("/api/v1/budgets", headers=data.headers("finance")).json()["rows"]
    assert "bad-one" not in {r["id"] for r in listed}


def test_config_ids_are_409_and_writes_need_the_permission(
    own: tuple[Filled, Client, Settings],
) -> None:
    data, client, _ = own
    finance = data.headers("finance")
    body = {**BODY, "name": "support"}
    locked = client.request("PUT", "/api/v1/budgets/team:support", json=body, headers=finance)
    assert locked.status_code == 409
    assert "config file" in locked.json()["error"]["message"]
    assert (
        client.request("DELETE", "/api/v1/budgets/team:sales", headers=finance).status_code == 409
    )
    for role in ("team:support", "customer:cust-001", "ingest", "metrics"):
        for method in ("PUT", "DELETE"):
            response = client.request(
                method, "/api/v1/budgets/x", json=BODY, headers=data.headers(role)
            )
            assert response.status_code == 403, (role, method)


def _spent(events: list[dict[str, Any]], team: str, start: datetime, at: datetime) -> str | None:
    """Independently of the rollups: the team's effective cost in [start, at]."""
    total = 0
    for e in events:
        ts = e["ts"] if e["ts"].tzinfo else e["ts"].replace(tzinfo=UTC)
        if e["team"] == team and start <= ts <= at and e["effective_cost_nusd"] is not None:
            total += e["effective_cost_nusd"]
    return nusd_to_usd(total)


def test_status_matches_the_events_and_is_scoped(own: tuple[Filled, Client, Settings]) -> None:
    data, client, _ = own
    at = "2026-10-30T12:34:56Z"
    moment = datetime(2026, 10, 30, 12, 34, 56, tzinfo=UTC)
    response = client.get(f"/api/v1/budgets/status?at={at}", headers=data.headers("finance"))
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["meta"] == {"at": at, "scope": None}
    rows = {r["budget_id"]: r for r in doc["rows"]}
    assert set(rows) >= set(CONFIG_IDS)
    for team in ("support", "sales"):
        row = rows[f"team:{team}"]
        assert row["period_start"] == "2026-10-01T00:00:00Z"
        assert row["resets_at"] == "2026-11-01T00:00:00Z"
        expected = _spent(data.events, team, datetime(2026, 10, 1, tzinfo=UTC), moment)
        assert row["spend_usd"] == expected and expected != "0.000000000"
        assert row["top_feature_1"] is not None
    assert doc["totals"]["budgets"] == len(doc["rows"])

    support = client.get(f"/api/v1/budgets/status?at={at}", headers=data.headers("team:support"))
    assert [r["budget_id"] for r in support.json()["rows"]] == ["team:support"]
    assert support.json()["meta"]["scope"] == "team:support"
    assert support.json()["rows"][0] == rows["team:support"]

    bad = client.get("/api/v1/budgets/status?at=soon", headers=data.headers("finance"))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "at"
