"""`aifinops price FILE`: JSONL (or CSV) out, line-numbered rejections, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aifinops.cli import app

runner = CliRunner()

GOOD = [
    {
        "ts": "2026-11-01T10:00:00Z",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": 1000,
        "output_tokens": 1000,
        "team": "support",
    },
    {
        "ts": "2026-11-01T11:00:00Z",
        "provider": "openai",
        "model": "acme-private-ft-1",
        "input_tokens": 10,
    },
]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_jsonl_out_has_each_row_plus_costs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["price", str(write_jsonl(tmp_path / "e.jsonl", GOOD))])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["team"] == "support"
    assert rows[0]["list_cost_usd"] == "0.018000000"
    assert rows[0]["effective_cost_usd"] == "0.018000000"
    assert rows[0]["price_version"].startswith("genai-prices-")
    assert rows[0]["unpriced"] is False
    assert rows[1]["list_cost_usd"] is None
    assert rows[1]["unpriced"] is True
    assert "priced 2 rows (1 unpriced), rejected 0" in result.stderr


def test_bad_rows_are_reported_by_line_and_the_rest_priced(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [
            GOOD[0],
            "{not json",
            {"provider": "openai", "model": "gpt-5"},
            GOOD[1],
            {**GOOD[0], "output_tokens": -5},
        ],
    )
    result = runner.invoke(app, ["price", str(path)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert "line 2: not valid JSON" in result.stderr
    assert "line 3: ts: is required" in result.stderr
    assert "line 5: output_tokens: must be zero or more" in result.stderr
    assert "rejected 3" in result.stderr


def test_csv_in_and_csv_out_with_negotiated_rates(tmp_path: Path) -> None:
    src = tmp_path / "e.csv"
    src.write_text(
        "ts,provider,model,input_tokens,output_tokens,tag_env\n"
        "2026-11-01T10:00:00Z,anthropic,claude-sonnet-4-5,1000,1000,prod\n"
    )
    config = tmp_path / "aifinops.yaml"
    config.write_text("rates:\n  - {provider: anthropic, model: 'claude-*', discount_pct: 10}\n")
    result = runner.invoke(app, ["price", str(src), "--format", "csv", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["tag_env"] == "prod"
    assert rows[0]["list_cost_usd"] == "0.018000000"
    assert rows[0]["effective_cost_usd"] == "0.016200000"
    assert "+rates-" in rows[0]["price_version"]


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("rates:\n  - {provider: anthropic, discount_pct: 10}\n")
    path = write_jsonl(tmp_path / "e.jsonl", GOOD)
    result = runner.invoke(app, ["price", str(path), "--config", str(config)])
    assert result.exit_code == 2
    assert "rates[0].model" in result.stderr


def test_missing_file_is_bad_usage(tmp_path: Path) -> None:
    result = runner.invoke(app, ["price", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_console_script_reads_stdin(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("aifinops")
    proc = subprocess.run(
        [str(exe), "price", "-"],
        input=json.dumps(GOOD[0]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["list_cost_usd"] == "0.018000000"
