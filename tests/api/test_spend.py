"""Spend from the API is `aifinops report spend` for the same selection; bad filters → 400."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ledger.queries import SpendQuery, parse_group_by, spend
from aifinops.reports.spend import spend_document
from tests.api.conftest import Client, Filled

runner = CliRunner()


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in doc["meta"].items() if k not in ("generated_at", "scope")}
    return {"rows": doc["rows"], "totals": doc["totals"], "meta": meta}


@pytest.mark.parametrize(
    "args",
    [
        {"from": "2026-10-29", "to": "2026-10-31", "by": "team"},
        {"from": "2026-10-29", "to": "2026-10-31", "by": "team,day"},
        {"from": "2026-10-30", "to": "2026-10-30", "by": "feature,hour"},
        {"month": "2026-10", "by": "customer,model", "top": "5"},
        {"from": "2026-10-01", "to": "2026-11-30", "by": ""},
        {"from": "2026-10-29", "to": "2026-10-31", "by": "provider,prompt_version,day"},
    ],
)
def test_api_spend_equals_report_spend(
    client: Client, filled: Filled, monkeypatch: pytest.MonkeyPatch, args: dict[str, str]
) -> None:
    monkeypatch.chdir(filled.folder)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", filled.url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    cli_args = ["report", "spend", "--format", "json"]
    for name, value in args.items():
        cli_args += [f"--{name}", value]
    result = runner.invoke(app, cli_args)
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)
    for role in ("admin", "finance"):
        response = client.get("/api/v1/spend", params=args, headers=filled.headers(role))
        assert response.status_code == 200, response.text
        assert _comparable(response.json()) == _comparable(from_cli)
        assert response.json()["meta"]["scope"] is None


def test_api_spend_with_filters_equals_the_query_layer(client: Client, filled: Filled) -> None:
    params = {"from": "2026-10-29", "to": "2026-10-31", "by": "feature,day", "team": "support"}
    response = client.get("/api/v1/spend", params=params, headers=filled.headers("finance"))
    query = SpendQuery(
        date(2026, 10, 29),
        date(2026, 10, 31),
        parse_group_by("feature,day"),
        None,
        (("team", "support"),),
    )
    with filled.engine.connect() as conn:
        doc = spend_document(query, spend(conn, query))
    assert _comparable(response.json()) == _comparable(doc)
    assert response.json()["rows"] and response.json()["totals"]["calls"] > 0


def test_a_team_token_gets_the_team_filter_it_would_have_asked_for(
    client: Client, filled: Filled
) -> None:
    base = {"from": "2026-10-29", "to": "2026-10-31", "by": "feature"}
    scoped = client.get("/api/v1/spend", params=base, headers=filled.headers("team:support"))
    filtered = client.get(
        "/api/v1/spend", params={**base, "team": "support"}, headers=filled.headers("admin")
    )
    assert scoped.json()["rows"] == filtered.json()["rows"]
    assert scoped.json()["totals"] == filtered.json()["totals"]
    assert scoped.json()["meta"]["scope"] == "team:support"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/spend", {"from": "yesterday-ish", "to": "2026-10-31"}, "from"),
        ("/api/v1/spend", {"from": "2026-10-29", "to": "2026-13-01"}, "to"),
        ("/api/v1/spend", {"from": "2026-10-29"}, "to"),
        ("/api/v1/spend", {"from": "2026-10-31", "to": "2026-10-01"}, "to"),
        ("/api/v1/spend", {"month": "October"}, "month"),
        ("/api/v1/spend", {"month": "2026-10", "from": "2026-10-01"}, "month"),
        ("/api/v1/spend", {"by": "team,planet"}, "by"),
        ("/api/v1/spend", {"top": "0"}, "top"),
        ("/api/v1/spend", {"top": "many"}, "top"),
        ("/api/v1/spend", {"team": ""}, "team"),
        ("/api/v1/events", {"limit": "0"}, "limit"),
        ("/api/v1/events", {"limit": "1001"}, "limit"),
        ("/api/v1/events", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/v1/events", {"from": "2026-02-30"}, "from"),
        ("/api/v1/rejections", {"limit": "-1"}, "limit"),
        ("/api/v1/audit", {"cursor": "WyJ4IiwgInkiXQ"}, "cursor"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    client: Client, filled: Filled, path: str, params: dict[str, str], field: str
) -> None:
    response = client.get(path, params=params, headers=filled.headers("admin"))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["field"] == field
    assert error["message"].startswith(f"{field}:")
