"""`aifinops route whatif`: exact figures on hand-built data, and the synthetic company."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ledger.db import open_ledger
from aifinops.ledger.writer import write_rows
from aifinops.optimize.evals import EvalRecord, write_evals
from aifinops.optimize.routing import parse_routing
from aifinops.optimize.whatif import whatif, whatif_document
from aifinops.pricing import PricingEngine
from aifinops.sim.company import generate
from aifinops.sim.company.options import CompanyOptions
from tests.ledger.helpers import row

runner = CliRunner()
POLICY = [
    {
        "feature": "triage",
        "candidates": ["claude-opus-4-1", "claude-haiku-4-5"],
        "quality_bar": {"baseline_model": "claude-opus-4-1", "max_drop": 0.02},
    },
    {"feature": "drafts", "candidates": ["gpt-4o-mini"], "quality_bar": {"min_score": 0.8}},
    {"feature": "ghost", "candidates": ["gpt-4o-mini"], "quality_bar": {"min_score": 0.8}},
]


def test_hand_built_month_exact_figures(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    rows = [
        row(i, feature="triage", model="claude-opus-4-1", input_tokens=1000, output_tokens=100)
        for i in range(2)
    ]
    rows.append(row(2, feature="drafts", provider="openai", model="gpt-4o-mini", input_tokens=1000))
    with engine.begin() as conn:
        write_rows(conn, rows)
    write_evals(
        engine,
        [
            EvalRecord("triage", "claude-opus-4-1", "v1", "acc", Decimal("0.96"), 100, None),
            EvalRecord("triage", "claude-haiku-4-5", "v1", "acc", Decimal("0.95"), 100, None),
        ],
        "test",
    )
    with engine.connect() as conn:
        got = whatif(
            conn, parse_routing(POLICY), PricingEngine(), date(2026, 11, 1), date(2026, 11, 30)
        )
    doc = whatif_document(got, date(2026, 11, 1), date(2026, 11, 30))
    by = {r["feature"]: r for r in doc["rows"]}
    # opus: 2,000 in x $15/M + 200 out x $75/M; haiku: 2,000 x $1/M + 200 x $5/M
    assert by["triage"]["effective_cost_usd"] == "0.045000000"
    assert by["triage"]["whatif_effective_cost_usd"] == "0.003000000"
    assert by["triage"]["saving_usd"] == "0.042000000"
    assert (by["triage"]["status"], by["triage"]["to_model"]) == ("routed", "claude-haiku-4-5")
    assert (by["triage"]["score"], by["triage"]["threshold"]) == ("0.95", "0.94")
    assert by["drafts"]["status"] == "no_eval_data" and by["drafts"]["saving_usd"] == "0.000000000"
    assert by["ghost"]["status"] == "no_traffic"
    assert doc["totals"]["saving_usd"] == "0.042000000"
    assert doc["meta"]["no_eval_data"] == ["drafts"] and doc["meta"]["below_bar"] == []
    engine.dispose()


@pytest.fixture
def ledger_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    return tmp_path


def test_synthetic_company_triage_moves_to_haiku_others_stay(ledger_env: Path) -> None:
    out = ledger_env / "co"
    generate(out, CompanyOptions(days=30, end=date(2026, 10, 31), scale=0.05))
    assert runner.invoke(app, ["import", "events", str(out / "events.jsonl")]).exit_code == 0
    assert runner.invoke(app, ["import", "evals", str(out / "evals.csv")]).exit_code == 0
    config = out / "aifinops.yaml"
    result = runner.invoke(
        app,
        ["route", "whatif", "--policy", str(config), "--month", "2026-10", "--format", "json"],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    by = {r["feature"]: r for r in doc["rows"]}
    assert by["ticket-triage"]["status"] == "routed"
    assert by["ticket-triage"]["to_model"] == "claude-haiku-4-5"
    assert Decimal(by["ticket-triage"]["saving_usd"]) > 0
    others = [r for f, r in by.items() if f != "ticket-triage"]
    assert others and all(r["status"] == "stays" for r in others)
    assert all(r["saving_usd"] == "0.000000000" for r in others)
    assert doc["totals"]["saving_usd"] == by["ticket-triage"]["saving_usd"]
    assert len(yaml.safe_load(config.read_text())["routing"]) == len(by)
    md = runner.invoke(
        app, ["route", "whatif", "--policy", str(config), "--month", "2026-10", "--format", "md"]
    )
    assert (
        "| ticket-triage | anthropic | claude-opus-4-1 | claude-haiku-4-5 | routed |" in md.stdout
    )
