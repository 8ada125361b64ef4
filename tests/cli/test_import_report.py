"""`aifinops import events`, `report spend`, `reprice`, `ledger …` end to end on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.money import nusd_to_usd
from aifinops.pricing import PricingEngine, RateBook
from aifinops.usage import event_from_record

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "aifinops" / "data" / "sample_day.jsonl"


@pytest.fixture(autouse=True)
def ledger_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_then_replay(tmp_path: Path) -> None:
    code, out, _ = run("import", "events", str(SAMPLE))
    assert code == 0
    assert "imported 400, duplicates skipped 0, rejected 0 (9 unpriced)" in out
    code, out, _ = run("import", "events", str(SAMPLE))
    assert code == 0
    assert "imported 0, duplicates skipped 400, rejected 0" in out


def test_bad_rows_are_reported_and_the_rest_imported(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()[:5]
    lines.insert(2, '{"provider": "openai", "model": "gpt-5"}')
    lines.insert(4, "{broken")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run("import", "events", str(path))
    assert code == 1
    assert "line 3: ts: is required" in err
    assert "line 5: not valid JSON" in err
    assert "imported 5, duplicates skipped 0, rejected 2" in out


def test_strict_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = SAMPLE.read_text().splitlines()[0]
    path.write_text(good + '\n{"ts": "2026-11-01T00:00:00Z", "provider": "openai"}\n')
    code, _, err = run("import", "events", str(path), "--strict")
    assert code == 1
    assert "line 2: model: is required" in err and "nothing was imported" in err
    code, out, _ = run("report", "spend", "--month", "2026-11", "--format", "json")
    assert json.loads(out)["totals"]["calls"] == 0


def test_csv_import(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "ts,provider,model,input_tokens,output_tokens,team\n"
        "2026-11-02T10:00:00Z,openai,gpt-5,1000000,0,search\n"
    )
    assert run("import", "events", str(path))[0] == 0
    _, out, _ = run(
        "report", "spend", "--from", "2026-11-02", "--to", "2026-11-02", "--format", "json"
    )
    doc = json.loads(out)
    assert doc["rows"] == [
        {
            "team": "search",
            "calls": 1,
            "input_tokens": 1_000_000,
            "cache_read_tokens": 0,
            "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 0,
            "output_tokens": 0,
            "reasoning_tokens": 0,
            "web_search_requests": 0,
            "list_cost_usd": "1.250000000",
            "effective_cost_usd": "1.250000000",
            "share_of_total": 1.0,
            "errors": 0,
            "unpriced_calls": 0,
            "unpriced_tokens": 0,
        }
    ]


def test_report_json_shape(tmp_path: Path) -> None:
    run("import", "events", str(SAMPLE))
    code, out, _ = run(
        "report", "spend", "--month", "2026-11", "--by", "team,feature,day", "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"rows", "totals", "meta"}
    assert doc["meta"]["by"] == ["team", "feature", "day"]
    assert doc["meta"]["from"] == "2026-11-01" and doc["meta"]["to"] == "2026-11-30"
    assert doc["totals"]["calls"] == 400
    assert doc["totals"]["list_cost_usd"] == "4.753568880"
    assert sum(r["calls"] for r in doc["rows"]) == 400
    for r in doc["rows"]:
        assert isinstance(r["list_cost_usd"], str) and isinstance(r["input_tokens"], int)
    shares = sum(r["share_of_total"] for r in doc["rows"])
    assert abs(shares - 1) < 0.01


def test_report_csv_and_table(tmp_path: Path) -> None:
    run("import", "events", str(SAMPLE))
    code, out, _ = run("report", "spend", "--month", "2026-11", "--by", "model", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("model,calls,")
    code, out, _ = run("report", "spend", "--month", "2026-11", "--by", "model", "--top", "3")
    assert code == 0 and "claude-sonnet-4-5" in out and "total" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from", "2026-11-01"], "--to: give --from and --to"),
        (["--month", "Nov"], "--month: 'Nov' is not a month"),
        (["--from", "2026-11-05", "--to", "2026-11-01"], "--to: 2026-11-01 is before"),
        (["--month", "2026-11", "--by", "colour"], "--by: unknown dimension 'colour'"),
        (["--month", "2026-11", "--from", "2026-11-01"], "not both"),
    ],
)
def test_report_bad_options(args: list[str], words: str) -> None:
    code, _, err = run("report", "spend", *args)
    assert code == 2
    assert words in err


def test_reprice_with_new_rates(tmp_path: Path) -> None:
    run("import", "events", str(SAMPLE))
    config = tmp_path / "aifinops.yaml"
    config.write_text("rates:\n  - {provider: anthropic, model: 'claude-*', discount_pct: 10}\n")
    code, out, _ = run("reprice", "--month", "2026-11", "--config", str(config))
    assert code == 0 and "re-priced 400 events" in out
    _, out, _ = run("report", "spend", "--month", "2026-11", "--format", "json")
    totals = json.loads(out)["totals"]
    assert totals["list_cost_usd"] == "4.753568880"
    rates = RateBook.parse([{"provider": "anthropic", "model": "claude-*", "discount_pct": 10}])
    engine = PricingEngine(rates=rates)
    expected = 0
    for line in SAMPLE.read_text().splitlines():
        event = event_from_record(json.loads(line))
        cost = engine.price(event.provider, event.model, event.ts, event.usage, batch=event.batch)
        expected += cost.effective_cost_nusd or 0
    assert totals["effective_cost_usd"] == nusd_to_usd(expected)


def test_ledger_status_prune_backup(tmp_path: Path) -> None:
    run("import", "events", str(SAMPLE))
    code, out, _ = run("ledger", "status", "--format", "json")
    assert code == 0 and json.loads(out)["events"] == 400
    code, out, _ = run("ledger", "prune", "--before", "2026-11-28")
    assert code == 0 and "pruned 400 raw events" in out
    _, out, _ = run("report", "spend", "--month", "2026-11", "--format", "json")
    assert json.loads(out)["totals"]["calls"] == 400  # rollups stay
    code, out, _ = run("ledger", "backup", str(tmp_path / "copy.db"))
    assert code == 0 and (tmp_path / "copy.db").exists()
    code, out, _ = run("db", "status")
    assert code == 0 and "up to date" in out


def test_bad_database_url_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", "mysql://root@localhost/x")
    code, _, err = run("ledger", "status")
    assert code == 2 and "AIFINOPS_DATABASE_URL" in err


def test_import_raw_bedrock_logs(tmp_path: Path) -> None:
    from tests.ingest.test_raw import BEDROCK_LOG

    path = tmp_path / "logs.jsonl"
    path.write_text(
        json.dumps(BEDROCK_LOG) + "\n" + json.dumps({**BEDROCK_LOG, "requestId": ""}) + "\n"
    )
    code, out, err = run("import", "events", str(path), "--format", "bedrock-log")
    assert code == 1
    assert "imported 1, duplicates skipped 0, rejected 1" in out
    assert "line 2: requestId" in err
