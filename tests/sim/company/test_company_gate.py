"""The deployment gate on the synthetic company's planted patterns.

case-summary's system prompt grows from v1 to v4 while its quality falls: the gate stops
v4 against v2 on every check. ticket-resolution is healthy: its second half-month against
its first passes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aifinops.economics.outcomes import import_outcome_rows
from aifinops.gate.policy import GatePolicy
from aifinops.gate.run import run_gate
from aifinops.gate.selection import parse_selection
from aifinops.ingest.events import import_events
from aifinops.ingest.files import iter_rows
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.optimize.evals import parse_eval_rows, read_eval_file, write_evals
from aifinops.pricing import PricingEngine
from tests.sim.company.dataset import Company


@pytest.fixture(scope="module")
def ledger(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    files = {f.what: f.path for f in company.result.files}
    engine = open_ledger(f"sqlite:///{tmp_path_factory.mktemp('gate') / 'ledger.db'}")
    with files["events"].open(encoding="utf-8") as stream:
        import_events(
            engine,
            PricingEngine(),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=lambda r: pytest.fail(str(r)),
        )
    with files["outcomes"].open(encoding="utf-8") as stream:
        import_outcome_rows(
            engine, iter_rows(stream, "jsonl"), on_reject=lambda r: pytest.fail(str(r))
        )
    records, errors = parse_eval_rows(read_eval_file(files["eval scores"]), "evals.csv")
    assert not errors
    write_evals(engine, records, "evals.csv")
    return engine


def gate(ledger: Engine, company: Company, feature: str, base: str, cand: str) -> dict[str, Any]:
    window = (company.result.window.first_day, company.result.window.last_day)
    run = run_gate(
        ledger,
        PricingEngine(),
        feature,
        parse_selection(base),
        parse_selection(cand),
        window,
        GatePolicy(),
    )
    return run.document


def test_case_summary_v4_is_stopped(ledger: Engine, company: Company) -> None:
    doc = gate(ledger, company, "case-summary", "prompt_version=v2", "prompt_version=v4")
    assert doc["verdict"] == "fail"
    statuses = {c["name"]: c["status"] for c in doc["checks"]}
    assert statuses["cost_per_call"] == statuses["quality"] == "fail"
    assert statuses["cost_per_successful_outcome"] == "fail"
    changes = {c["metric"]: c for c in doc["changes"]}
    assert changes["cost_per_successful_outcome_usd"]["interval"]["low"] > 0.5
    assert changes["mean_quality"]["interval"]["high"] < 0
    # the imported offline evals agree: v4 scores below v2 on the same model
    scores = {e["prompt_version"]: e["score"] for e in doc["evals"]}
    assert scores["v2"] == "0.81" and scores["v4"] == "0.66"
    assert {e["model"] for e in doc["evals"]} == {"claude-haiku-4-5"}


def test_healthy_ticket_resolution_passes_against_its_first_fortnight(
    ledger: Engine, company: Company
) -> None:
    first = company.result.window.first_day
    middle = first + timedelta(days=14)
    doc = gate(
        ledger,
        company,
        "ticket-resolution",
        f"prompt_version=v7,from={first},to={middle}",
        f"prompt_version=v7,from={middle + timedelta(days=1)}",
    )
    assert doc["verdict"] == "pass", doc["checks"]
    assert doc["baseline"]["outcomes"] >= 1000 and doc["candidate"]["outcomes"] >= 1000
