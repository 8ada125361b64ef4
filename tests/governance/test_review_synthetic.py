"""The monthly FinOps review of the synthetic company: sales crossed its soft thresholds,
success its hard limit — with the alerts delivered, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.economics.store import effective_economics
from aifinops.governance.review import Month, html_page, markdown, review_document
from aifinops.governance.runner import run_alerts
from aifinops.governance.store import load_budgets
from aifinops.ledger.schema import gateway_rejections
from aifinops.settings import Settings, load_settings
from aifinops.sim.company import CompanyOptions, generate
from tests.governance.alert_helpers import keys, pinned_url, receiver, utc

END = date(2026, 11, 27)
NOVEMBER = Month(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    generate(folder, CompanyOptions(days=30, end=END, scale=0.2))
    return folder


@pytest.fixture
def loaded(
    company: Path,
    ledger: Engine,
    ledger_url: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Settings:
    """The company's events and outcomes in the ledger; its settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", pinned_url(*ledger_url))
    monkeypatch.setenv("AIFINOPS_CONFIG", str(company / "aifinops.yaml"))
    cli = CliRunner()
    for what, file in (("events", "events.jsonl"), ("outcomes", "outcomes.jsonl")):
        result = cli.invoke(app, ["import", what, str(company / file)])
        assert result.exit_code == 0, result.stderr
    return load_settings(environ={}, config_path=company / "aifinops.yaml")


def _reject(ledger: Engine, rows: list[tuple[str, str, str | None, int]]) -> None:
    with ledger.begin() as conn:
        conn.execute(
            insert(gateway_rejections),
            [
                {
                    "rejection_id": f"rej-{i}",
                    "ts": utc(ts),
                    "status": status,
                    "reason": reason,
                    "team": team,
                    "provider": "anthropic",
                    "path": "/anthropic/v1/messages",
                }
                for i, (ts, reason, team, status) in enumerate(rows)
            ],
        )


def _by_team(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["team"]: row for row in doc["rows"]}


def test_review_of_the_synthetic_company(loaded: Settings, ledger: Engine) -> None:
    with receiver() as slack:
        settings = replace(loaded, alerts=replace(loaded.alerts, slack_webhook_url=slack.url))
        result = run_alerts(ledger, settings, at=utc("2026-11-28T00:00:00"))
        fired = keys(result.new)
        assert ("team:sales", "threshold", 50) in fired
        assert ("team:sales", "threshold", 75) in fired
        assert ("team:sales", "threshold", 90) in fired
        assert ("team:sales", "hard_limit", 110) not in fired
        assert ("team:success", "hard_limit", 110) in fired
        assert {("team:success", "threshold", t) for t in (50, 75, 90)} <= set(fired)
        assert not [k for k in fired if k[0] == "team:support"]  # at 40 %
        assert len(slack.accepted) == len(result.new)
    channels = {a.subject: a.channel for a in result.new}
    assert channels["team:sales"] == "slack:#ai-spend-sales"
    assert channels["team:success"] == "slack:#ai-spend-success"

    _reject(
        ledger,
        [
            ("2026-11-20T10:00:00", "budget_throttle", "success", 429),
            ("2026-11-20T10:00:01", "budget_throttle", "success", 429),
            ("2026-11-21T09:00:00", "budget_block", "success", 429),
            ("2026-11-21T09:30:00", "rate_limit_rpm", "sales", 429),
            ("2026-11-22T09:00:00", "missing_key", None, 401),  # not a budget matter
            ("2026-10-31T23:59:59", "budget_block", "success", 429),  # last month
        ],
    )
    economics = effective_economics(ledger, settings.economics)
    with ledger.connect() as conn:
        budgets = load_budgets(conn, settings.budgets)
        doc = review_document(
            conn,
            NOVEMBER,
            budgets=budgets,
            economics=economics,
            teams=[name for name, _ in settings.alerts.team_channels],
            now=utc("2026-12-02T09:00:00"),
        )

    teams = _by_team(doc)
    assert set(teams) == {"support", "sales", "success", "platform"}
    assert 90 <= float(teams["sales"]["pct_of_budget"]) < 100
    assert float(teams["success"]["pct_of_budget"]) >= 110
    assert teams["sales"]["alerts"] == 3 and teams["success"]["alerts"] == 4
    assert teams["support"]["alerts"] == 0
    for row in doc["rows"]:
        assert Decimal(row["spend_usd"]) > 0 and Decimal(row["previous_usd"]) > 0
        proposed = Decimal(row["proposed_budget_usd"])
        assert len(proposed.normalize().as_tuple().digits) <= 3  # 3 significant figures
    assert doc["meta"]["in_progress"] is False and doc["meta"]["month"] == "2026-11"
    assert doc["meta"]["covered_days"] == 30.0  # November is over
    assert doc["meta"]["previous_covered_days"] == 3.0  # the data starts on 29 October

    fired_kinds = {(a["subject"], a["kind"], a["level"]) for a in doc["alerts"]}
    assert ("team:success", "hard_limit", 110) in fired_kinds
    assert {a["status"] for a in doc["alerts"]} == {"delivered"}

    assert doc["rejections"] == [
        {"reason": "budget_throttle", "team": "success", "status": 429, "requests": 2},
        {"reason": "budget_block", "team": "success", "status": 429, "requests": 1},
        {"reason": "rate_limit_rpm", "team": "sales", "status": 429, "requests": 1},
    ]
    assert doc["totals"]["throttled_or_refused"] == 4

    moved = doc["features_moved"]
    assert moved and len(moved) <= 10
    changes = [abs(Decimal(m["change_per_day_usd"])) for m in moved]
    assert changes == sorted(changes, reverse=True)
    assert {m["team"] for m in moved} <= {"support", "sales", "success", "platform"}

    review = doc["unit_economics"]
    assert review, "the synthetic company plants features to review"
    assert all(r["status"] == "review" or r["recommendation"] != "keep" for r in review)

    assert [p["team"] for p in doc["proposals"]] == [r["team"] for r in doc["rows"]]

    text = markdown(doc)
    assert text.startswith("# FinOps review, 2026-11\n")
    for heading in (
        "## 1. Spend by team: budget and last month",
        "## 2. Alerts fired",
        "## 3. Throttled and refused requests",
        "## 4. Features that moved most",
        "## 5. Unit economics to review",
        "## 6. Proposed budgets for 2026-12",
        "## Decisions",
    ):
        assert heading in text
    assert "| budget_throttle | success | 429 | 2 |" in text
    page = html_page(doc)
    assert page.startswith("<!doctype html>") and page.count("<table>") == 6


def test_report_review_command(loaded: Settings, ledger: Engine) -> None:
    cli = CliRunner()
    result = cli.invoke(app, ["report", "review", "--month", "2026-11", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"rows", "totals", "meta", "alerts", "rejections", "features_moved"} <= set(doc)
    assert {"unit_economics", "proposals"} <= set(doc)
    assert doc["meta"]["report"] == "review"
    md = cli.invoke(app, ["report", "review", "--month", "2026-11"])
    assert md.exit_code == 0 and md.stdout.startswith("# FinOps review, 2026-11")
    html = cli.invoke(app, ["report", "review", "--month", "2026-11", "--format", "html"])
    assert html.exit_code == 0 and "<h1>FinOps review, 2026-11" in html.stdout
    bad = cli.invoke(app, ["report", "review", "--month", "November"])
    assert bad.exit_code == 2 and "--month" in bad.stderr
