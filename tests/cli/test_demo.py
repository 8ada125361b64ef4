"""`aifinops demo` prices the bundled day and prints a cost table by model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ledger.db import open_ledger
from aifinops.ledger.maintenance import status
from aifinops.ledger.schema import gateway_keys, rollup_hourly, usage_events
from aifinops.ledger.schema_economics import outcomes

runner = CliRunner()


def test_demo_prints_cost_by_model() -> None:
    result = runner.invoke(app, ["demo", "--sample"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for model in (
        "claude-sonnet-4-5",
        "gpt-4o-mini",
        "text-embedding-3-small",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ):
        assert model in out
    assert "unpriced" in out  # the private model is never shown as $0
    assert "400 calls priced" in out
    lines = [line for line in out.splitlines() if "total" in line]
    assert lines and "$4.7536" in lines[0]  # list total
    assert "$4.4319" in lines[0]  # effective, after the demo's negotiated rates


def test_demo_without_rates_shows_list_equal_to_effective() -> None:
    result = runner.invoke(app, ["demo", "--sample", "--no-rates"])
    assert result.exit_code == 0
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert total.count("$4.7536") == 2


def test_demo_builds_the_company_month_into_a_fresh_ledger(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    for _ in range(2):  # a second run starts from a fresh ledger, not a doubled one
        result = runner.invoke(app, ["demo", "--dir", str(directory), "--days", "3", "--no-live"])
        assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Spend by team" in out and "Spend by feature" in out
    for name in ("support", "sales", "success", "platform", "ticket-triage", "renewal-brief"):
        assert name in out
    engine = open_ledger(f"sqlite:///{directory / 'aifinops.db'}")
    events = len((directory / "events.jsonl").read_text().splitlines())
    assert status(engine).events == events
    assert f"{events:,} calls imported" in out
    with engine.connect() as conn:
        total = int(conn.execute(select(func.sum(rollup_hourly.c.list_cost_nusd))).scalar() or 0)
    total_line = [line for line in out.splitlines() if "│ total" in line]
    assert len(total_line) == 3  # spend by team, by feature, cost per successful outcome
    assert all(f"{total / 1e9:,.2f}" in line for line in total_line)
    assert "Cost per successful outcome" in out
    budgets = {line.split()[0]: line for line in out.splitlines() if line.startswith("  team:")}
    assert set(budgets) == {"team:support", "team:sales", "team:success", "team:platform"}
    if datetime.now(UTC).day != 1:  # on the 1st the generated days are last month's
        assert "threshold 90% crossed" in budgets["team:sales"]
        assert "over hard limit → throttle" in budgets["team:success"]
        assert "top: renewal-brief" in budgets["team:success"]
        assert "1 past a soft threshold, 1 over the hard limit" in out
    with engine.connect() as conn:
        recorded = conn.execute(select(func.count()).select_from(outcomes)).scalar()
    assert recorded == len((directory / "outcomes.jsonl").read_text().splitlines())
    engine.dispose()


def test_demo_drives_live_calls_through_the_gateway(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    args = ["demo", "--dir", str(directory), "--days", "2", "--live-calls", "12", "--rate", "50"]
    args += ["--alert-interval", "1"]
    result = runner.invoke(app, [*args, "--port", "0"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "The gateway is live at http://127.0.0.1:" in out
    assert 'openai.OpenAI(base_url="http://127.0.0.1:' in out
    # the dashboard first, then the admin token (its one-click link), then the SDK snippet
    dashboard = out.index("The dashboard: http://127.0.0.1:")
    found = re.search(r"^Admin API token of this demo's ledger .*\n  (aft_\S+)$", out, re.M)
    assert found, out
    token = found.group(1)
    assert dashboard < out.index(f"/login#token={token}") < out.index("openai.OpenAI(")
    for log in (directory / "logs").iterdir():  # the token is on the console only
        assert token not in log.read_text()
    live_line = "live: 12 sent, 12 answered, none throttled, errors none; 12 recorded in the ledger"
    assert live_line in out
    engine = open_ledger(f"sqlite:///{directory / 'aifinops.db'}")
    with engine.connect() as conn:
        demo_keys = select(gateway_keys.c.key_id)
        live_rows = select(usage_events.c.team).where(usage_events.c.api_key_id.in_(demo_keys))
        teams = list(conn.execute(live_rows).scalars())
    live = len(teams)
    engine.dispose()
    assert live == 12
    assert set(teams) <= {"support", "sales", "success", "platform"}


def test_every_command_has_help() -> None:
    for command in ("price", "demo", "demo-data", "sim", "reprice"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.stdout
