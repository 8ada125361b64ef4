"""`aifinops gate` on ledger traffic: prompt versions, canary tags, outcomes joined by unit."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.gate.policy import GatePolicy
from aifinops.gate.run import run_gate
from aifinops.gate.selection import parse_selection
from aifinops.gate.store import list_runs, record_run
from aifinops.ledger.db import open_ledger
from aifinops.ledger.queries import EVERYTHING, Scope
from aifinops.pricing.engine import PricingEngine
from tests.economics.helpers import call, outcome, write_calls, write_outcome_records

DAY = date(2026, 11, 10)
WINDOW = (date(2026, 11, 1), date(2026, 11, 30))
runner = CliRunner()


def fill(engine: Engine) -> None:
    """v1: 40 units of one $0.010 call, 20 succeed; v2 (canary-tagged): 40 units of one
    $0.012 call, 36 succeed. Two v1 units have no outcome yet (open)."""
    calls: list[tuple[dict[str, Any], int]] = []
    outcomes: list[dict[str, Any]] = []
    for i in range(42):
        calls.append(
            call(DAY, 10_000_000, feature="triage", unit=f"a{i}", version="v1", duration_ms=400 + i)
        )
        if i < 40:
            outcomes.append(outcome(f"oa{i}", f"a{i}", DAY, i < 20, feature="triage", quality=0.7))
    for i in range(40):
        calls.append(
            call(
                DAY,
                12_000_000,
                feature="triage",
                unit=f"b{i}",
                version="v2",
                duration_ms=420 + i,
                tags={"release": "canary"},
            )
        )
        outcomes.append(outcome(f"ob{i}", f"b{i}", DAY, i < 36, feature="triage", quality=0.9))
    calls.append(call(DAY, 99_000_000, feature="other", unit="x", version="v2"))
    write_calls(engine, calls)
    write_outcome_records(engine, outcomes)


def test_prompt_versions_compared_on_the_ledger(ledger: Engine) -> None:
    fill(ledger)
    policy = GatePolicy(allow_cost_increase_if_outcome_cost_falls=True)
    run = run_gate(
        ledger,
        PricingEngine(),
        "triage",
        parse_selection("prompt_version=v1"),
        parse_selection("prompt_version=v2"),
        WINDOW,
        policy,
    )
    doc = run.document
    base, cand = doc["baseline"], doc["candidate"]
    assert (base["calls"], base["outcomes"], base["open_units"], base["successes"]) == (
        42,
        40,
        2,
        20,
    )
    assert (cand["calls"], cand["outcomes"], cand["open_units"], cand["successes"]) == (
        40,
        40,
        0,
        36,
    )
    assert base["cost_per_call_usd"] == "0.010000000"
    assert cand["cost_per_call_usd"] == "0.012000000"
    # Closed units only: 40 × $0.010 / 20 against 40 × $0.012 / 36.
    assert base["cost_per_successful_outcome_usd"] == "0.020000000"
    assert cand["cost_per_successful_outcome_usd"] == "0.013333333"
    assert base["mean_quality"] == 0.7 and cand["mean_quality"] == 0.9
    assert base["latency_p50_ms"] == 420.5 and cand["latency_p50_ms"] == 439.5
    assert doc["verdict"] == "pass" and run.team == "support"
    strict = run_gate(
        ledger,
        PricingEngine(),
        "triage",
        parse_selection("prompt_version=v1"),
        parse_selection("prompt_version=v2"),
        WINDOW,
        GatePolicy(),
    )
    assert strict.document["verdict"] == "fail"


def test_canary_tag_and_window_of_one_side(ledger: Engine) -> None:
    fill(ledger)
    run = run_gate(
        ledger,
        PricingEngine(),
        "triage",
        parse_selection("prompt_version=v1,from=2026-11-10,to=2026-11-10"),
        parse_selection("tag.release=canary"),
        WINDOW,
        GatePolicy(),
    )
    assert run.document["candidate"]["calls"] == 40
    assert run.document["baseline"]["from"] == "2026-11-10"
    empty = run_gate(
        ledger,
        PricingEngine(),
        "triage",
        parse_selection("prompt_version=v1"),
        parse_selection("prompt_version=v1,from=2026-11-11,to=2026-11-30"),
        WINDOW,
        GatePolicy(),
    )
    assert empty.document["candidate"]["calls"] == 0
    assert empty.verdict.exit_code == 3


def test_recorded_runs_are_listed_newest_first_in_scope(ledger: Engine) -> None:
    fill(ledger)
    run = run_gate(
        ledger,
        PricingEngine(),
        "triage",
        parse_selection("prompt_version=v1"),
        parse_selection("prompt_version=v2"),
        WINDOW,
        GatePolicy(),
    )
    first = record_run(ledger, run, "cli:alice")
    second = record_run(ledger, run, "cli:bob")
    with ledger.connect() as conn:
        runs = list_runs(conn, EVERYTHING, feature="triage")
        assert [r["run_id"] for r in runs] in ([second, first], [first, second])
        assert {r["ran_by"] for r in runs} == {"cli:alice", "cli:bob"}
        assert runs[0]["document"]["candidate"]["calls"] == 40
        assert runs[0]["verdict"] == "fail" and runs[0]["team"] == "support"
        assert list_runs(conn, Scope(team="support"), verdict="fail") != []
        assert list_runs(conn, Scope(team="sales")) == []
        assert list_runs(conn, Scope(customer_id="acme")) == []


def test_gate_record_and_history_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    engine = open_ledger(url)
    fill(engine)
    engine.dispose()
    args = [
        "gate",
        "--feature",
        "triage",
        "--baseline",
        "prompt_version=v1",
        "--candidate",
        "prompt_version=v2",
        "--month",
        "2026-11",
    ]
    result = runner.invoke(app, [*args, "--record", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["run_id"].startswith("gate_") and doc["run_id"] in result.stderr
    result = runner.invoke(app, ["gate", "history", "--feature", "triage", "--format", "json"])
    assert result.exit_code == 0
    runs = json.loads(result.stdout)["gates"]
    assert [r["run_id"] for r in runs] == [doc["run_id"]]
    assert runs[0]["baseline"] == "prompt_version=v1" and runs[0]["verdict"] == "fail"
    assert runs[0]["ran_by"].startswith("cli:")
    table = runner.invoke(app, ["gate", "history"])
    assert table.exit_code == 0 and doc["run_id"] in table.stdout
    none = runner.invoke(app, ["gate", "history", "--feature", "nothing"])
    assert none.exit_code == 3 and "no recorded gate runs for feature nothing" in none.stderr
