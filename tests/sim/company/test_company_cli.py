"""`aifinops demo-data`: writes the four files, one summary line each; bad options exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import aifinops.cli.demo_data  # noqa: F401  (registers the command on the app)
from aifinops.cli.app import app

runner = CliRunner()
SMALL = ["--days", "2", "--end", "2026-10-31", "--scale", "0.3"]


def test_writes_four_files_and_one_line_each(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo-data", "--out", str(out), *SMALL, "--seed", "7"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    names = ["events.jsonl", "outcomes.jsonl", "evals.csv", "aifinops.yaml"]
    assert len(lines) == 4
    for line, name in zip(lines, names, strict=True):
        assert line.startswith(str(out / name) + ": ")
        assert line.endswith(("B", "kB", "MB"))
    events = (out / "events.jsonl").read_text(encoding="utf-8").count("\n")
    assert f": {events:,} events, " in lines[0]
    outcomes = (out / "outcomes.jsonl").read_text(encoding="utf-8").count("\n")
    assert f": {outcomes:,} outcomes, " in lines[1]
    assert "2026-10-30 to 2026-10-31" in result.stderr
    again = runner.invoke(app, ["demo-data", "--out", str(out), *SMALL, "--seed", "7"])
    assert again.exit_code == 0 and again.stdout == result.stdout


def flat(output: str) -> str:
    """Click's error box wraps long lines wherever the path length puts them: unwrap it."""
    return " ".join(output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.mark.parametrize(
    ("args", "option", "says"),
    [
        (["--scale", "0"], "--scale", "more than 0"),
        (["--scale", "1000"], "--scale", "10,000,000"),
        (["--end", "2026-13-01"], "--end", "YYYY-MM-DD"),
        (["--days", "0"], "--days", "1"),
        (["--customers", "0"], "--customers", "1"),
        (["--seed", "-1"], "--seed", "0"),
    ],
)
def test_bad_options_name_the_option(
    tmp_path: Path, args: list[str], option: str, says: str
) -> None:
    result = runner.invoke(app, ["demo-data", "--out", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert option in flat(result.output)
    assert says in flat(result.output)
    assert not (tmp_path / "events.jsonl").exists()


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = runner.invoke(app, ["demo-data", "--out", str(target), *SMALL])
    assert result.exit_code == 2
    assert "--out" in flat(result.output) and "is a file" in flat(result.output)
