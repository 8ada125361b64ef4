"""``GET /api/v1/routing/whatif``: the config's routing policies applied to a period,
exactly as ``aifinops route whatif --policy CONFIG --format json`` computes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from aifinops.api import create_api_app
from aifinops.cli import app
from aifinops.settings import Settings, load_settings
from tests.api.conftest import BACKENDS, Client, Filled, filled_ledger

#: The keys the API adds to the CLI's meta.
API_META = ("policies", "scope")


def cli(data: Filled, *args: str) -> str:
    config = str(data.folder / "aifinops.yaml")
    env = {"AIFINOPS_DATABASE_URL": data.url, "AIFINOPS_CONFIG": config}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=BACKENDS)
def routed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Filled, Client, Settings]]:
    """The synthetic company with its eval scores and its config (a routing policy per
    feature)."""
    with filled_ledger(request, tmp_path_factory, "whatif") as data:
        assert "rejected 0" in cli(data, "import", "evals", str(data.folder / "evals.csv"))
        settings = load_settings({}, config_path=data.folder / "aifinops.yaml")
        assert settings.routing
        client = Client(create_api_app(settings, data.engine))
        try:
            yield data, client, settings
        finally:
            client.close()


def _whatif(data: Filled, month: str) -> dict[str, Any]:
    config = str(data.folder / "aifinops.yaml")
    out = cli(data, "route", "whatif", "--policy", config, "--month", month, "--format", "json")
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_the_answer_is_the_clis(routed: tuple[Filled, Client, Settings]) -> None:
    data, client, settings = routed
    expected = _whatif(data, "2026-10")
    for query in ("month=2026-10", "from=2026-10-01&to=2026-10-31"):
        response = client.get(f"/api/v1/routing/whatif?{query}", headers=data.headers("finance"))
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["rows"] == expected["rows"] and doc["totals"] == expected["totals"]
        meta = {k: v for k, v in doc["meta"].items() if k not in API_META}
        assert meta == expected["meta"]
        assert doc["meta"]["policies"] == len(settings.routing)
        assert doc["meta"]["scope"] is None
    assert Decimal(expected["totals"]["saving_usd"]) > 0  # the company's triage moves
    assert any(r["status"] == "routed" for r in expected["rows"])


@pytest.mark.parametrize("team", ["support", "sales"])
def test_a_team_gets_the_policies_of_its_features(
    routed: tuple[Filled, Client, Settings], team: str
) -> None:
    data, client, settings = routed
    role = f"team:{team}"
    owned = {
        f["name"] for f in client.get("/api/v1/features", headers=data.headers(role)).json()["rows"]
    }
    rows = [r for r in _whatif(data, "2026-10")["rows"] if r["feature"] in owned]
    doc = client.get("/api/v1/routing/whatif?month=2026-10", headers=data.headers(role)).json()
    assert doc["rows"] == rows and rows
    assert doc["meta"]["scope"] == role
    assert doc["meta"]["policies"] == sum(1 for p in settings.routing if p.feature in owned)
    saving = sum((Decimal(r["saving_usd"]) for r in rows), Decimal(0))
    assert Decimal(doc["totals"]["saving_usd"]) == saving


def test_no_policies_no_rows(routed: tuple[Filled, Client, Settings]) -> None:
    data, _, _ = routed
    bare = Client(create_api_app(Settings(), data.engine))
    try:
        doc = bare.get("/api/v1/routing/whatif?month=2026-10", headers=data.headers("admin"))
    finally:
        bare.close()
    assert doc.status_code == 200
    assert doc.json()["rows"] == [] and doc.json()["meta"]["policies"] == 0
    assert doc.json()["totals"]["saving_usd"] == "0.000000000"


def test_customers_may_not_and_bad_parameters_name_the_field(
    routed: tuple[Filled, Client, Settings],
) -> None:
    data, client, _ = routed
    refused = client.get("/api/v1/routing/whatif", headers=data.headers("customer:cust-001"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    for query, field in (
        ("month=2026-13", "month"),
        ("month=2026-10&from=2026-10-01", "month"),
        ("from=2026-10-01", "to"),
        ("from=2026-10-31&to=2026-10-01", "to"),
        ("from=nope&to=2026-10-01", "from"),
    ):
        response = client.get(f"/api/v1/routing/whatif?{query}", headers=data.headers("admin"))
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["field"] == field, query
