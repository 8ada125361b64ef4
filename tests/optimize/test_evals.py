"""Eval scores: parsing with line-numbered errors, idempotent storage, the latest run,
and `aifinops import evals` (good file, bad rows, --strict, re-import, the company's file)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ingest.files import Row
from aifinops.ledger.db import open_ledger
from aifinops.optimize.evals import (
    EvalRecord,
    best_scores,
    load_evals,
    parse_eval_rows,
    read_eval_file,
    write_evals,
)
from aifinops.sim.company.evals import EVALS, evals_csv

runner = CliRunner()

GOOD_CSV = (
    "feature,model,prompt_version,metric,score,sample_size,date\n"
    "triage,claude-opus-4-1,v2,accuracy,0.96,400,2026-11-01\n"
    "triage,claude-haiku-4-5,v2,accuracy,0.95,400,2026-11-01\n"
    "triage,claude-haiku-4-5,v2,accuracy,0.90,400,2026-10-01\n"
)


def rows(*data: dict[str, object]) -> list[Row]:
    return [Row(line=i + 2, data=d) for i, d in enumerate(data)]


def test_parse_accepts_task_for_feature_and_run_date() -> None:
    records, errors = parse_eval_rows(
        rows(
            {
                "task": "triage",
                "model": "m",
                "score": "0.5",
                "sample_size": "10",
                "run_date": "2026-11-02",
            }
        ),
        "x.csv",
    )
    assert errors == []
    assert records == [EvalRecord("triage", "m", None, None, Decimal("0.5"), 10, date(2026, 11, 2))]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"model": "m", "score": "0.5", "sample_size": 1}, "feature", "(or task)"),
        ({"feature": "f", "score": "0.5", "sample_size": 1}, "model", "required"),
        ({"feature": "f", "model": "m", "sample_size": 1}, "score", "from 0 to 1"),
        ({"feature": "f", "model": "m", "score": "96", "sample_size": 1}, "score", "divide by 100"),
        (
            {"feature": "f", "model": "m", "score": "high", "sample_size": 1},
            "score",
            "not a number",
        ),
        ({"feature": "f", "model": "m", "score": "0.5"}, "sample_size", "cases scored"),
        ({"feature": "f", "model": "m", "score": "0.5", "sample_size": "0"}, "sample_size", "1 or"),
        (
            {"feature": "f", "model": "m", "score": "0.5", "sample_size": 1, "date": "11/02/2026"},
            "date",
            "YYYY-MM-DD",
        ),
    ],
)
def test_bad_rows_name_line_field_and_fix(data: dict[str, object], field: str, words: str) -> None:
    records, errors = parse_eval_rows([Row(line=7, data=data)], "x.csv")
    assert records == []
    assert len(errors) == 1
    assert errors[0].line == 7 and errors[0].field == field
    assert words in str(errors[0]) and str(errors[0]).startswith(f"line 7: {field}: ")


def test_write_is_idempotent_and_load_keeps_the_latest_run(ledger: Engine, tmp_path: Path) -> None:
    path = tmp_path / "evals.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    records, errors = parse_eval_rows(read_eval_file(path), path.name)
    assert errors == [] and len(records) == 3
    assert write_evals(ledger, records, path.name) == (3, 0)
    assert write_evals(ledger, records, path.name) == (0, 3)
    latest = load_evals(ledger)
    assert [(r.model, r.score, r.run_date) for r in latest] == [
        ("claude-haiku-4-5", Decimal("0.95"), date(2026, 11, 1)),
        ("claude-opus-4-1", Decimal("0.96"), date(2026, 11, 1)),
    ]
    assert load_evals(ledger, feature="other") == []
    best = best_scores(latest)
    assert best[("triage", "claude-opus-4-1")].score == Decimal("0.96")


def test_the_synthetic_companys_evals_import_cleanly(ledger: Engine, tmp_path: Path) -> None:
    path = tmp_path / "evals.csv"
    path.write_text(evals_csv(), encoding="utf-8")
    records, errors = parse_eval_rows(read_eval_file(path), path.name)
    assert errors == []
    assert write_evals(ledger, records, path.name) == (len(EVALS), 0)
    assert len(load_evals(ledger)) == len(EVALS)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    return tmp_path


def test_cli_import_good_file_then_reimport(cli_env: Path) -> None:
    path = cli_env / "evals.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    code, out, err = run("import", "evals", str(path))
    assert code == 0, err
    assert "imported 3, duplicates skipped 0, rejected 0" in out
    code, out, _ = run("import", "evals", str(path))
    assert code == 0 and "imported 0, duplicates skipped 3, rejected 0" in out


def test_cli_json_array_and_jsonl(cli_env: Path) -> None:
    item = {"feature": "f", "model": "m", "score": 0.9, "sample_size": 50}
    array = cli_env / "evals.json"
    array.write_text(json.dumps([item, {**item, "model": "n"}]), encoding="utf-8")
    code, out, err = run("import", "evals", str(array))
    assert code == 0, err
    assert "imported 2," in out
    lines = cli_env / "more.jsonl"
    lines.write_text(json.dumps({**item, "model": "o"}) + "\n", encoding="utf-8")
    code, out, err = run("import", "evals", str(lines), "--format", "json")
    assert code == 0 and "imported 1," in out


def test_cli_bad_rows_exit_1_and_strict_imports_nothing(cli_env: Path) -> None:
    path = cli_env / "evals.csv"
    path.write_text(GOOD_CSV + "triage,claude-sonnet-4-5,v2,accuracy,1.5,400,2026-11-01\n")
    code, out, err = run("import", "evals", "--strict", str(path))
    assert code == 1
    assert "line 5: score: must be from 0 to 1" in err
    assert "--strict: 1 bad rows; nothing was imported" in err
    engine = open_ledger(f"sqlite:///{cli_env / 'ledger.db'}")
    assert load_evals(engine) == []
    code, out, err = run("import", "evals", str(path))
    assert code == 1
    assert "imported 3, duplicates skipped 0, rejected 1" in out
    assert len(load_evals(engine)) == 2
    engine.dispose()


def test_cli_missing_file_is_usage_error(cli_env: Path) -> None:
    code, _, err = run("import", "evals", str(cli_env / "nope.csv"))
    assert code == 2 and "does not exist" in err
