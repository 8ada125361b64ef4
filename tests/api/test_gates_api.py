"""``GET /api/v1/gates``: recorded gate runs, newest first, in the reader's scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aifinops.api import create_api_app
from aifinops.gate.policy import GatePolicy
from aifinops.gate.run import run_gate
from aifinops.gate.selection import parse_selection
from aifinops.gate.store import record_run
from aifinops.pricing.engine import PricingEngine
from aifinops.settings import Settings
from tests.api.conftest import BACKENDS, END, FIRST, Client, Filled, filled_ledger


@pytest.fixture(scope="module", params=BACKENDS)
def gated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Filled, Client, dict[str, str]]]:
    """The synthetic company with one recorded run for a support and a sales feature."""
    with filled_ledger(request, tmp_path_factory, "gates") as data:
        ids: dict[str, str] = {}
        for feature in ("ticket-triage", "lead-qualification"):
            run = run_gate(
                data.engine,
                PricingEngine(),
                feature,
                parse_selection("provider=anthropic"),
                parse_selection("provider=anthropic"),
                (FIRST, END),
                GatePolicy(min_quality_change=None, min_sample=2),
            )
            ids[feature] = record_run(data.engine, run, "cli:test")
        client = Client(create_api_app(Settings(), data.engine))
        try:
            yield data, client, ids
        finally:
            client.close()


def test_each_role_sees_its_own_runs(gated: tuple[Filled, Client, dict[str, str]]) -> None:
    data, client, ids = gated
    admin = client.get("/api/v1/gates", headers=data.headers("admin"))
    assert admin.status_code == 200
    runs = admin.json()["gates"]
    assert {r["run_id"] for r in runs} == set(ids.values())
    by_feature = {r["feature"]: r for r in runs}
    triage = by_feature["ticket-triage"]
    assert triage["team"] == "support" and triage["verdict"] == "pass"
    assert triage["exit_code"] == 0 and triage["ran_by"] == "cli:test"
    assert triage["document"]["baseline"]["calls"] > 0
    assert triage["document"]["verdict"] == "pass"
    support = client.get("/api/v1/gates", headers=data.headers("team:support")).json()
    assert [r["run_id"] for r in support["gates"]] == [ids["ticket-triage"]]
    sales = client.get("/api/v1/gates", headers=data.headers("team:sales")).json()
    assert [r["run_id"] for r in sales["gates"]] == [ids["lead-qualification"]]
    refused = client.get("/api/v1/gates", headers=data.headers("customer:cust-001"))
    assert refused.status_code == 403


def test_filters_and_bad_parameters(gated: tuple[Filled, Client, dict[str, str]]) -> None:
    data, client, ids = gated
    admin = data.headers("admin")
    one = client.get("/api/v1/gates?feature=lead-qualification", headers=admin).json()
    assert [r["run_id"] for r in one["gates"]] == [ids["lead-qualification"]]
    assert client.get("/api/v1/gates?verdict=fail", headers=admin).json() == {"gates": []}
    assert len(client.get("/api/v1/gates?limit=1", headers=admin).json()["gates"]) == 1
    bad = client.get("/api/v1/gates?verdict=maybe", headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "verdict"
    zero = client.get("/api/v1/gates?limit=0", headers=admin)
    assert zero.status_code == 400 and zero.json()["error"]["field"] == "limit"
    assert client.get("/api/v1/gates").status_code == 401
