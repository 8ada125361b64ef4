"""`aifinops reconcile`: coverage, untracked spend, price drift and flagged days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ingest.provider_store import CostRow, UsageRow, replace_day
from aifinops.ingest.reconcile import model_key
from aifinops.ledger.db import open_ledger
from aifinops.ledger.writer import write_events
from aifinops.pricing import PricingEngine
from aifinops.usage import Attribution, Usage, UsageEvent

runner = CliRunner()
MODEL = "claude-sonnet-4-6"  # $3 per million input tokens


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    engine = open_ledger(url)
    pricing = PricingEngine()
    events = [
        UsageEvent(
            event_id=f"e{i}",
            ts=datetime(2026, 8, day, 10, i, tzinfo=UTC),
            provider="anthropic",
            model=MODEL,
            usage=Usage(input_tokens=tokens),
            attribution=Attribution(team="search"),
        )
        for i, (day, tokens) in enumerate([(1, 600_000), (1, 400_000), (2, 500_000)])
    ]
    with engine.begin() as conn:
        write_events(conn, [pricing.price_event(e) for e in events])
        for day, billed_nusd in ((1, 3_000_000_000), (2, 2_700_000_000)):
            d = date(2026, 8, day)
            start = datetime(2026, 8, day, tzinfo=UTC)
            usage = UsageRow(start, "1d", Usage(input_tokens=1_000_000), model=MODEL)
            replace_day(conn, "anthropic:usage", "anthropic", d, [usage])
            cost = CostRow(d, billed_nusd, model=MODEL, line_item="Claude Sonnet 4.6 input")
            replace_day(conn, "anthropic:cost", "anthropic", d, [cost])
    engine.dispose()
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_coverage_untracked_and_drift(ledger_url: str) -> None:
    code, out, _ = run("reconcile", "--month", "2026-08", "--format", "json")
    assert code == 1  # day 2 is flagged
    doc = json.loads(out)
    day1, day2 = doc["rows"]
    assert day1["coverage"] == 1.0 and day1["untracked_cost_usd"] == "0.000000000"
    assert day1["price_drift_usd"] == "0.000000000" and not day1["flagged"]
    assert day2["coverage"] == 0.5
    assert day2["billed_cost_usd"] == "2.700000000"
    assert day2["explained_cost_usd"] == "1.350000000"
    assert day2["untracked_cost_usd"] == "1.350000000"
    assert day2["price_drift_usd"] == "-0.300000000" and day2["price_drift_pct"] == -0.1
    assert day2["provider_input_tokens"] == 1_000_000 and day2["ledger_input_tokens"] == 500_000
    assert day2["flagged"]
    assert doc["totals"]["flagged_days"] == 1
    assert doc["totals"]["untracked_cost_usd"] == "1.350000000"
    (flag,) = doc["meta"]["flagged"]
    assert flag["day"] == "2026-08-02"
    assert any("untracked spend $1.35" in r for r in flag["reasons"])
    assert any("price drift -10.0%" in r for r in flag["reasons"])


def test_a_wide_threshold_flags_nothing(ledger_url: str) -> None:
    code, out, _ = run("reconcile", "--month", "2026-08", "--threshold", "50", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].startswith("day,provider,model,billed_cost_usd")


def test_table_and_no_data(ledger_url: str) -> None:
    code, out, _ = run("reconcile", "--month", "2026-08")
    assert code == 1 and "untracked" in out and "⚑ 2026-08-02 anthropic" in out
    code, _, err = run("reconcile", "--month", "2026-07")
    assert code == 3 and "no provider usage or cost report" in err


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("claude-sonnet-4-6", "Claude4.6Sonnet"),
        ("claude-sonnet-4-6", "us.anthropic.claude-sonnet-4-6-v1:0"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ],
)
def test_model_keys_match_across_sources(a: str, b: str) -> None:
    assert model_key(a) == model_key(b)
    assert model_key("gpt-4o") != model_key("gpt-4o-mini")
