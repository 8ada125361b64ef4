"""`import outcomes`, `report outcomes`, `report customers`, `customers forget`, end to end,
and the planted economics of the synthetic company."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.sim.company import CompanyOptions, generate

runner = CliRunner()
END = date(2026, 11, 27)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 days of the synthetic company imported into a SQLite ledger (half scale)."""
    folder = tmp_path_factory.mktemp("company")
    generate(folder, CompanyOptions(days=30, end=END, scale=0.5))
    return folder


@pytest.fixture
def env(company: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("AIFINOPS_CONFIG", str(company / "aifinops.yaml"))
    return company


def load(company: Path) -> None:
    assert run("import", "events", str(company / "events.jsonl"))[0] == 0
    code, out, err = run("import", "outcomes", str(company / "outcomes.jsonl"))
    assert code == 0, err
    assert "duplicates skipped 0, rejected 0" in out


def economics(*extra: str) -> dict[str, Any]:
    code, out, err = run(
        "report",
        "outcomes",
        "--from",
        "2026-10-29",
        "--to",
        END.isoformat(),
        "--format",
        "json",
        *extra,
    )
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_the_synthetic_companys_planted_economics(env: Path) -> None:
    load(env)
    rows = {r["feature"]: r for r in economics()["rows"]}
    assert len(rows) == 8
    assert rows["ticket-resolution"]["status"] == "healthy"
    assert rows["ticket-resolution"]["recommendation"] == "keep"
    renewal = rows["renewal-brief"]
    assert renewal["status"] == "review" and 0.55 <= renewal["human_cost_ratio"] <= 1.0
    assert renewal["recommendation"] == "fix the cost"
    summary = rows["case-summary"]
    assert summary["trend"] == "rising" and summary["quality_trend"] == "falling"
    assert summary["recommendation"] == "check evals"
    for name, row in rows.items():
        if name not in ("renewal-brief",):
            assert row["status"] == "healthy", name
        if name != "case-summary":
            assert row["trend"] != "rising", name
        assert row["open_units"] == 0  # every unit has its outcome
    versions = economics("--by", "prompt_version", "--feature", "case-summary")["rows"]
    per_version = {
        r["prompt_version"]: float(r["cost_per_successful_outcome_usd"]) for r in versions
    }
    assert per_version["v1"] < per_version["v2"] < per_version["v3"] < per_version["v4"]


def test_replaying_outcomes_adds_nothing_and_formats_agree(env: Path) -> None:
    load(env)
    code, out, _ = run("import", "outcomes", str(env / "outcomes.jsonl"))
    assert code == 0 and "imported 0," in out and "rejected 0" in out
    doc = economics()
    args = ("report", "outcomes", "--from", "2026-10-29", "--to", END.isoformat())
    code, text, _ = run(*args, "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["feature"] for r in table] == [r["feature"] for r in doc["rows"]]
    assert [r["spend_usd"] for r in table] == [r["spend_usd"] for r in doc["rows"]]
    code, md, _ = run(*args, "--format", "md")
    assert code == 0 and md.count("\n| ") == len(doc["rows"]) + 3  # header, rule, rows, total
    code, html, _ = run(*args, "--format", "html")
    assert code == 0 and html.startswith("<!doctype html>") and 'class="review"' in html
    code, table_text, _ = run(*args)
    assert code == 0 and "renewal-brief" in table_text and "fix the cost" in table_text


def test_bad_outcome_rows_are_reported_by_line_and_field(tmp_path: Path, env: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {
        "outcome_id": "o1",
        "unit_id": "u1",
        "feature": "f",
        "success": True,
        "ts": "2026-11-02T10:00:00Z",
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "outcome_id": "o2", "success": "maybe"}),
        "{broken",
        json.dumps({**good, "outcome_id": "o3", "quality": 1.5}),
        json.dumps({**good, "outcome_id": "o4", "value_usd": "ten"}),
        json.dumps({k: v for k, v in good.items() if k != "feature"} | {"outcome_id": "o5"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run("import", "outcomes", str(path), "--strict")
    assert code == 1 and "nothing was imported" in err
    code, out, err = run("import", "outcomes", str(path))
    assert code == 1
    assert "line 2: success: must be true or false" in err
    assert "line 3: not valid JSON" in err
    assert "line 4: quality: must be from 0 to 1" in err
    assert "line 5: value_usd:" in err
    assert "line 6: feature: is required" in err
    assert "imported 1, duplicates skipped 0, rejected 5" in out
    assert run("import", "outcomes", str(tmp_path / "nope.jsonl"))[0] == 2


def test_customers_statement_and_forget(env: Path) -> None:
    load(env)
    code, out, err = run("report", "customers", "--month", "2026-11", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["rows"][0]["customer_id"] == "cust-001"
    code, out, _ = run(
        "report",
        "customers",
        "--month",
        "2026-11",
        "--customer",
        "cust-002",
        "--format",
        "json",
        "--markup",
        "20",
    )
    statement = json.loads(out)
    assert {r["customer_id"] for r in statement["rows"]} == {"cust-002"}
    assert statement["totals"]["markup_pct"] == "20.0"
    code, out, _ = run("customers", "forget", "cust-002", "--yes")
    assert code == 0 and "forgotten-" in out
    code, out, _ = run("report", "customers", "--month", "2026-11", "--format", "json")
    after = json.loads(out)
    assert after["totals"] == doc["totals"]
    assert "cust-002" not in out
    assert run("customers", "forget", "cust-002", "--yes")[0] == 1  # nothing left to forget
