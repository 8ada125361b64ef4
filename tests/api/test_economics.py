"""The unit-economics endpoints: outcomes in, economics, showback, statements, settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from aifinops.api import create_api_app
from aifinops.economics.document import economics_document
from aifinops.economics.numbers import EconomicsQuery, compute
from aifinops.economics.store import effective_economics
from aifinops.settings import Settings, load_settings
from tests.api.conftest import BACKENDS, Client, Filled, filled_ledger

PERIOD = "from=2026-10-29&to=2026-10-31"


@pytest.fixture(scope="module", params=BACKENDS)
def own(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Filled, Client, Settings]]:
    """A ledger of this module's own (it records outcomes) and a client on it."""
    with filled_ledger(request, tmp_path_factory, "economics") as data:
        settings = load_settings({}, config_path=data.folder / "aifinops.yaml")
        client = Client(create_api_app(settings, data.engine))
        try:
            yield data, client, settings
        finally:
            client.close()


def outcome_lines(data: Filled) -> list[dict[str, Any]]:
    with (data.folder / "outcomes.jsonl").open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def post_all(data: Filled, client: Client, role: str = "ingest") -> dict[str, Any]:
    lines = outcome_lines(data)
    response = client.request(
        "POST", "/api/v1/outcomes", json={"outcomes": lines}, headers=data.headers(role)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["rejected"] == []
    assert body["imported"] + body["duplicates"] == len(lines)
    return body


def test_outcomes_post_is_idempotent_and_only_for_ingest_and_admin(
    own: tuple[Filled, Client, Settings],
) -> None:
    data, client, _ = own
    post_all(data, client)
    again = post_all(data, client, "admin")
    assert again["imported"] == 0
    for role in ("finance", "team:support", "customer:cust-001", "metrics"):
        response = client.request(
            "POST", "/api/v1/outcomes", json={"outcomes": []}, headers=data.headers(role)
        )
        assert response.status_code == 403, role


def test_bad_outcomes_name_their_index_and_field(own: tuple[Filled, Client, Settings]) -> None:
    data, client, _ = own
    good = {"outcome_id": "api-1", "feature": "f", "success": True, "ts": "2026-10-30T10:00:00Z"}
    bad = {**good, "outcome_id": "api-2", "quality": 7}
    headers = data.headers("ingest")
    strict = client.request(
        "POST", "/api/v1/outcomes", json={"outcomes": [good, bad], "strict": True}, headers=headers
    )
    assert strict.status_code == 422
    assert strict.json()["error"]["field"] == "outcomes.1.quality"
    loose = client.request(
        "POST", "/api/v1/outcomes", json={"outcomes": [good, bad]}, headers=headers
    )
    assert loose.status_code == 200
    assert loose.json()["rejected"] == [
        {"index": 1, "field": "quality", "reason": "must be from 0 to 1, got 7"}
    ]
    unknown = client.request(
        "POST", "/api/v1/outcomes", json={"outcomes": [{**good, "colour": "red"}]}, headers=headers
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "outcomes.0.colour"


def test_economics_equals_the_report(own: tuple[Filled, Client, Settings]) -> None:
    data, client, settings = own
    post_all(data, client)
    response = client.get(
        f"/api/v1/economics?{PERIOD}&by=feature,team", headers=data.headers("finance")
    )
    assert response.status_code == 200, response.text
    api_doc = response.json()
    query = EconomicsQuery(date(2026, 10, 29), date(2026, 10, 31), ("feature", "team"))
    with data.engine.connect() as conn:
        expected = economics_document(
            compute(conn, query), effective_economics(conn, settings.economics)
        )
    assert api_doc["rows"] == expected["rows"] and api_doc["totals"] == expected["totals"]
    assert {r["feature"] for r in api_doc["rows"]} >= {"ticket-resolution", "ticket-triage"}


def test_team_sees_its_features_only_and_customers_their_statement(
    own: tuple[Filled, Client, Settings],
) -> None:
    data, client, _ = own
    post_all(data, client)
    team = client.get(
        f"/api/v1/economics?{PERIOD}&by=feature,team", headers=data.headers("team:sales")
    )
    assert team.status_code == 200
    assert {r["team"] for r in team.json()["rows"]} == {"sales"}
    assert (
        client.get(
            f"/api/v1/economics?{PERIOD}", headers=data.headers("customer:cust-001")
        ).status_code
        == 403
    )
    own_statement = client.get(
        f"/api/v1/customers/cust-001/statement?{PERIOD}", headers=data.headers("customer:cust-001")
    )
    assert own_statement.status_code == 200
    assert {r["customer_id"] for r in own_statement.json()["rows"]} == {"cust-001"}
    other = client.get(
        f"/api/v1/customers/cust-001/statement?{PERIOD}", headers=data.headers("customer:cust-004")
    )
    assert other.status_code == 403
    assert (
        client.get(
            f"/api/v1/customers?{PERIOD}", headers=data.headers("customer:cust-001")
        ).status_code
        == 403
    )
    showback = client.get(f"/api/v1/customers?{PERIOD}", headers=data.headers("finance"))
    assert showback.status_code == 200
    totals = showback.json()["totals"]
    assert totals["total_spend_usd"] is not None


def test_feature_settings_are_validated_audited_and_file_entries_read_only(
    own: tuple[Filled, Client, Settings],
) -> None:
    data, client, _ = own
    finance = data.headers("finance")
    body = {"team": "support", "human_cost_usd": "4.00", "target_ratio": "0.2"}
    put = client.request("PUT", "/api/v1/features/new-bot", json=body, headers=finance)
    assert put.status_code == 200, put.text
    assert put.json()["source"] == "api" and put.json()["human_cost_usd"] == "4.000000000"
    listed = client.get("/api/v1/features", headers=finance).json()["rows"]
    assert {"ticket-resolution", "new-bot"} <= {r["name"] for r in listed}
    support = client.get("/api/v1/features", headers=data.headers("team:support")).json()
    assert {r["team"] for r in support["rows"]} == {"support"}
    bad = client.request(
        "PUT", "/api/v1/features/new-bot", json={**body, "red_line": "0.1"}, headers=finance
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "red_line"
    locked = client.request("PUT", "/api/v1/features/ticket-resolution", json=body, headers=finance)
    assert locked.status_code == 409
    assert (
        client.request(
            "PUT", "/api/v1/features/x", json=body, headers=data.headers("team:support")
        ).status_code
        == 403
    )
    gone = client.request("DELETE", "/api/v1/features/new-bot", headers=finance)
    assert gone.status_code == 200
    assert client.request("DELETE", "/api/v1/features/new-bot", headers=finance).status_code == 404
    audit = client.get("/api/v1/audit?action=features.put", headers=data.headers("admin")).json()
    assert (
        audit["rows"][0]["target"] == "new-bot" and audit["rows"][0]["after"]["team"] == "support"
    )


def test_units_join_outcomes_whenever_they_arrive(own: tuple[Filled, Client, Settings]) -> None:
    data, client, _ = own
    post_all(data, client)
    headers = data.headers("finance")
    first = client.get("/api/v1/units?limit=20&feature=ticket-resolution", headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["rows"]) == 20 and page["meta"]["next_cursor"]
    assert all(
        r["feature"] == "ticket-resolution" and len(r["outcomes"]) == 1 for r in page["rows"]
    )
    second = client.get(
        f"/api/v1/units?limit=20&feature=ticket-resolution&cursor={page['meta']['next_cursor']}",
        headers=headers,
    ).json()
    assert not {r["unit_id"] for r in page["rows"]} & {r["unit_id"] for r in second["rows"]}
    assert client.get("/api/v1/units?open=true", headers=headers).json()["rows"] == []
    late = {
        "outcome_id": "late-unit-o",
        "unit_id": "unit-with-no-calls",
        "feature": "f",
        "success": True,
        "ts": "2026-10-30T09:00:00Z",
    }
    client.request(
        "POST", "/api/v1/outcomes", json={"outcomes": [late]}, headers=data.headers("ingest")
    )
    team = client.get("/api/v1/units?limit=1000", headers=data.headers("team:sales")).json()
    assert team["rows"] and {r["team"] for r in team["rows"]} == {"sales"}
    assert client.get("/api/v1/units?limit=0", headers=headers).status_code == 400
