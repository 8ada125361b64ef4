"""`aifinops demo` prices the bundled day and prints a cost table by model."""

from __future__ import annotations

from typer.testing import CliRunner

from aifinops.cli import app

runner = CliRunner()


def test_demo_prints_cost_by_model() -> None:
    result = runner.invoke(app, ["demo"])
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
    result = runner.invoke(app, ["demo", "--no-rates"])
    assert result.exit_code == 0
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert total.count("$4.7536") == 2


def test_every_command_has_help() -> None:
    for command in ("price", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.stdout
