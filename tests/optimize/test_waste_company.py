"""On the synthetic company, `aifinops waste` finds exactly the five planted patterns,
each in its planted feature, and nothing else (SQLite and PostgreSQL); the CLI formats;
`GET /api/v1/waste` with team scoping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.api import create_api_app
from aifinops.api.roles import Role
from aifinops.api.tokens import create_token
from aifinops.cli import app
from aifinops.ingest.events import import_events
from aifinops.ingest.files import iter_rows
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.optimize.evals import parse_eval_rows, read_eval_file, write_evals
from aifinops.optimize.waste.report import WasteQuery, waste_document
from aifinops.pricing import PricingEngine
from aifinops.settings import Settings, load_settings
from aifinops.sim.company import CompanyOptions, generate
from tests.api.conftest import Client

END = date(2026, 11, 27)
FIRST = date(2026, 10, 29)
PLANTED = {
    ("overpowered_model", "ticket-triage"),
    ("no_prompt_caching", "lead-qualification"),
    ("system_prompt_growth", "case-summary"),
    ("context_bloat", "account-health"),
    ("no_max_tokens", "email-drafting"),
}
runner = CliRunner()


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 days of the synthetic company at a quarter of its default traffic."""
    folder = tmp_path_factory.mktemp("waste-company")
    generate(folder, CompanyOptions(days=30, end=END, scale=0.25))
    return folder


def load(engine: Engine, company: Path) -> None:
    with (company / "events.jsonl").open(encoding="utf-8") as stream:
        summary = import_events(
            engine,
            PricingEngine(),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=lambda r: pytest.fail(str(r)),
        )
    assert summary.imported > 10_000
    records, errors = parse_eval_rows(read_eval_file(company / "evals.csv"), "evals.csv")
    assert errors == []
    write_evals(engine, records, "evals.csv")


@pytest.fixture
def loaded(ledger: Engine, company: Path) -> Engine:
    load(ledger, company)
    return ledger


def test_exactly_the_five_planted_patterns(loaded: Engine, company: Path) -> None:
    settings = load_settings({}, config_path=company / "aifinops.yaml")
    with loaded.connect() as conn:
        doc = waste_document(conn, PricingEngine(), settings.waste, WasteQuery(FIRST, END))
    found = {(f["kind"], f["feature"]) for f in doc["findings"]}
    assert found == PLANTED
    assert len(doc["findings"]) == 5
    by_kind = {f["kind"]: f for f in doc["findings"]}
    assert by_kind["overpowered_model"]["evidence"]["candidate_model"] == "claude-haiku-4-5"
    assert by_kind["system_prompt_growth"]["prompt_version"] == "v4"
    assert by_kind["no_max_tokens"]["evidence"]["stopped_by_length"] > 0
    for finding in doc["findings"]:
        assert float(finding["monthly_saving_usd"]) > 0
        assert finding["evidence"]["example_event_ids"]
        assert "× 30 / 30" in finding["method"]


# --- CLI ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_ledger(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("waste-cli")
    url = f"sqlite:///{folder / 'ledger.db'}"
    engine = open_ledger(url)
    load(engine, company)
    engine.dispose()
    yield url


def waste_cli(
    monkeypatch: pytest.MonkeyPatch, url: str, company: Path, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.setenv("AIFINOPS_CONFIG", str(company / "aifinops.yaml"))
    result = runner.invoke(
        app, ["waste", "--from", FIRST.isoformat(), "--to", END.isoformat(), *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_table_and_markdown(
    monkeypatch: pytest.MonkeyPatch, cli_ledger: str, company: Path
) -> None:
    code, out, err = waste_cli(monkeypatch, cli_ledger, company, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert {(f["kind"], f["feature"]) for f in doc["findings"]} == PLANTED
    assert set(doc["findings"][0]) == {
        "kind",
        "team",
        "feature",
        "prompt_version",
        "evidence",
        "monthly_saving_usd",
        "method",
        "fix",
    }
    code, out, err = waste_cli(monkeypatch, cli_ledger, company, "--format", "md")
    assert code == 0, err
    assert out.startswith(f"## Waste, {FIRST} to {END}")
    assert "| no_prompt_caching | sales | lead-qualification | v3 |" in out
    assert "- Method: " in out and "- Fix: " in out
    code, out, err = waste_cli(monkeypatch, cli_ledger, company)
    assert code == 0, err
    assert "lead-qualification" in out and "5 findings" in out


def test_cli_filters(monkeypatch: pytest.MonkeyPatch, cli_ledger: str, company: Path) -> None:
    code, out, _ = waste_cli(
        monkeypatch, cli_ledger, company, "--team", "sales", "--format", "json"
    )
    assert code == 0
    assert {(f["kind"], f["feature"]) for f in json.loads(out)["findings"]} == {
        ("no_prompt_caching", "lead-qualification"),
        ("no_max_tokens", "email-drafting"),
    }
    code, out, _ = waste_cli(
        monkeypatch, cli_ledger, company, "--feature", "case-summary", "--format", "json"
    )
    assert [f["kind"] for f in json.loads(out)["findings"]] == ["system_prompt_growth"]


def test_cli_bad_dates_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, cli_ledger: str, company: Path
) -> None:
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", cli_ledger)
    result = runner.invoke(app, ["waste", "--month", "2026-13"])
    assert result.exit_code == 2


# --- API ----------------------------------------------------------------------------


def test_api_waste_with_team_scoping(cli_ledger: str, company: Path) -> None:
    engine = open_ledger(cli_ledger)
    tokens = {}
    with engine.begin() as conn:
        for role in ("finance", "team:support", "customer:cust-001"):
            tokens[role] = create_token(conn, Role.parse(role), role)[1]
    client = Client(create_api_app(Settings(), engine))
    try:
        query = f"/api/v1/waste?from={FIRST}&to={END}"

        def get(role: str, extra: str = "") -> tuple[int, dict[str, object]]:
            r = client.get(query + extra, headers={"authorization": f"Bearer {tokens[role]}"})
            return r.status_code, r.json()

        status, doc = get("finance")
        assert status == 200
        findings = doc["findings"]
        assert isinstance(findings, list)
        assert {(f["kind"], f["feature"]) for f in findings} == PLANTED
        status, doc = get("team:support")
        assert status == 200
        assert isinstance(doc["findings"], list)
        assert {f["team"] for f in doc["findings"]} == {"support"}
        assert {f["feature"] for f in doc["findings"]} == {"ticket-triage", "case-summary"}
        status, doc = get("team:support", "&team=sales")
        assert status == 200 and doc["findings"] == []
        status, doc = get("customer:cust-001")
        assert status == 403
        status, doc = get("finance", "&month=2026-11")
        assert status == 400
    finally:
        client.close()
        engine.dispose()
