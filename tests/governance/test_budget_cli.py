"""`aifinops budget set|list|status|delete` on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ledger.schema_api import audit_log
from tests.api.conftest import schema_url
from tests.governance.budget_helpers import spend

runner = CliRunner()
CONFIG = """\
budgets:
  - {scope: team, name: support, amount_usd: "100"}
  - {scope: org, amount_usd: "1000", period: monthly}
"""
SET = ("budget", "set", "--scope", "team", "--name", "sales", "--amount", "20")


@pytest.fixture
def env(
    ledger: Engine,
    ledger_url: tuple[str, str | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The CLI on the `ledger` of this test (same file or schema); returns a config file."""
    base, schema = ledger_url
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", schema_url(base, schema) if schema else base)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "budgets.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def flat(text: str) -> str:
    return " ".join(text.split())


#: (options added to SET, what stderr must say: the option and the fix)
BAD = [
    (("--amount", "-5"), "--amount: must be more than 0, got -5"),
    (("--scope", "planet"), "--scope: 'planet' is not a scope; use team, feature, customer"),
    (("--thresholds", "90,50"), "--thresholds: must be in increasing order without repeats"),
    (("--thresholds", "50,abc"), "--thresholds: 'abc' is not a number"),
    (("--hard-limit", "80"), "--hard-limit: must be above the last threshold (90), got 80"),
    (("--action", "downgrade"), "--downgrade: action downgrade needs a model map"),
    (("--downgrade", "opus"), "--downgrade: 'opus' must be FROM=TO"),
    (("--timezone", "Mars/Base"), "--timezone: 'Mars/Base' is not a whole-hour UTC offset"),
    (("--period", "fortnight"), "--period: 'fortnight' is not a period; use month, week or day"),
    (("--throttle-rpm", "-1"), "--throttle-rpm: must be a whole number from 0 to 100000"),
    (("--cost", "retail"), "--cost: 'retail' is not effective or list"),
    (("--id", "bad id"), "--id: must be 1-200 letters, digits"),
]


@pytest.mark.parametrize(("extra", "says"), BAD, ids=[b[1].split(":")[0] + b[0][1] for b in BAD])
def test_bad_values_exit_2_naming_the_option(
    env: Path, ledger: Engine, extra: tuple[str, ...], says: str
) -> None:
    code, out, err = run(*SET, *extra)
    assert code == 2, out + err
    assert says in flat(err)
    code, out, _ = run("budget", "list", "--format", "json")
    assert json.loads(out)["rows"] == []


def test_missing_amount_is_clicks_usage_error(env: Path) -> None:
    code, _, err = run("budget", "set", "--scope", "team", "--name", "sales")
    assert code == 2 and "--amount" in err


def audit(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.ts))
        return [dict(r._mapping) for r in rows]


def test_set_list_status_delete_round_trip(env: Path, ledger: Engine) -> None:
    code, out, err = run(
        *SET,
        "--timezone",
        "UTC-3",
        "--thresholds",
        "50,80",
        "--hard-limit",
        "100",
        "--action",
        "downgrade",
        "--downgrade",
        "claude-opus-4-1=claude-sonnet-4-5",
        "--note",
        "Q4 pilot",
        "--config",
        str(env),
    )
    assert code == 0, err
    assert "created budget team:sales: 20.000000000 USD of effective cost per month (UTC-3)" in out
    code, out, _ = run(*SET, "--period", "week", "--config", str(env))
    assert code == 0 and "updated budget team:sales" in out and "per week" in out
    code, out, _ = run(
        *SET, "--timezone", "UTC-3", "--thresholds", "50,80", "--hard-limit", "100",
        "--action", "block", "--config", str(env),
    )  # fmt: skip
    assert code == 0

    code, out, _ = run("budget", "list", "--format", "json", "--config", str(env))
    rows = json.loads(out)["rows"]
    assert [(r["id"], r["source"]) for r in rows] == [
        ("team:support", "config"),
        ("org", "config"),
        ("team:sales", "cli"),
    ]
    assert rows[2]["timezone"] == "UTC-3" and rows[2]["thresholds"] == [50, 80]
    code, out, _ = run("budget", "list", "--config", str(env))
    assert code == 0 and "team:sales" in out and "block" in out

    # spend either side of the UTC-3 month boundary (2026-11-01T03:00:00Z)
    spend(ledger, "2026-11-01T02:59:59", "12", team="sales", feature="leads")
    spend(ledger, "2026-11-01T03:00:00", "7", team="sales", feature="leads")
    code, out, err = run(
        "budget", "status", "--at", "2026-11-01T02:59:59Z", "--format", "json",
        "--config", str(env),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    sales = {r["budget_id"]: r for r in doc["rows"]}["team:sales"]
    assert sales["period_start"] == "2026-10-01T03:00:00Z"
    assert sales["resets_at"] == "2026-11-01T03:00:00Z"
    assert sales["spend_usd"] == "12.000000000" and sales["spend_pct"] == 60.0
    assert sales["state_text"] == "threshold 50% crossed"
    assert (sales["top_feature_1"], sales["top_feature_1_usd"]) == ("leads", "12.000000000")
    assert doc["meta"] == {"at": "2026-11-01T02:59:59Z"} and doc["totals"]["budgets"] == 3
    code, out, _ = run(
        "budget", "status", "--at", "2026-11-01T03:00:00Z", "--format", "csv",
        "--config", str(env),
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    sales = {r["budget_id"]: r for r in rows}["team:sales"]
    assert sales["period_start"] == "2026-11-01T03:00:00Z" and sales["spend_usd"] == "7.000000000"
    code, out, _ = run("budget", "status", "--at", "2026-11-01T03:00:00Z", "--config", str(env))
    assert code == 0 and "team:sales" in out and "ok" in out

    code, out, _ = run("budget", "delete", "team:sales", "--config", str(env))
    assert code == 0 and "deleted budget team:sales" in out
    code, _, err = run("budget", "delete", "team:sales", "--config", str(env))
    assert code == 1 and "no run-time budget 'team:sales'" in err

    entries = audit(ledger)
    assert [(e["action"], e["via"], e["target"]) for e in entries] == [
        ("budgets.put", "cli", "team:sales"),
        ("budgets.put", "cli", "team:sales"),
        ("budgets.put", "cli", "team:sales"),
        ("budgets.delete", "cli", "team:sales"),
    ]
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert entries[0]["after_state"]["downgrade"] == {"claude-opus-4-1": "claude-sonnet-4-5"}
    assert entries[1]["before_state"]["period"] == "month"
    assert entries[1]["after_state"]["period"] == "week"


def test_config_budgets_are_read_only(env: Path, ledger: Engine) -> None:
    code, _, err = run(
        "budget", "set", "--scope", "team", "--name", "support", "--amount", "5",
        "--config", str(env),
    )  # fmt: skip
    assert code == 2 and "'team:support' is defined in the config file" in flat(err)
    code, _, err = run("budget", "delete", "org", "--config", str(env))
    assert code == 2 and "remove it there" in flat(err)
    assert audit(ledger) == []


def test_an_id_in_the_file_and_the_database_is_an_error(env: Path) -> None:
    assert run(*SET)[0] == 0  # no config file: a run-time team:sales
    env.write_text(CONFIG + '  - {scope: team, name: sales, amount_usd: "5"}\n', encoding="utf-8")
    for command in (("list",), ("status",)):
        code, _, err = run("budget", *command, "--config", str(env))
        assert code == 2
        assert "'team:sales' is in the config file and was also set at run time" in flat(err)


def test_status_with_no_budgets_and_a_bad_at(env: Path) -> None:
    code, out, _ = run("budget", "status")
    assert code == 0 and "no budgets" in out
    code, out, _ = run("budget", "list")
    assert code == 0 and "no budgets" in out
    code, _, err = run("budget", "status", "--at", "yesterday")
    assert code == 2 and "--at: 'yesterday' is not an ISO-8601 time" in flat(err)
