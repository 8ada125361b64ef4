"""`aifinops sim` options and its errors (the server itself is exercised in test_sdk.py)."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

import aifinops.cli.sim  # noqa: F401  (registers the command)
from aifinops.cli.app import app

runner = CliRunner()


def test_help_documents_every_option() -> None:
    result = runner.invoke(app, ["sim", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--latency-profile", "--faults", "--api-key", "--seed"):
        assert option in result.output
    assert "base_url http://HOST:PORT/v1" in result.output
    assert "x-sim-fault" in result.output


def test_bad_faults_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("rules:\n  - fault: '500'\n    rate: 3\n")
    result = runner.invoke(app, ["sim", "--faults", str(faults), "--port", "0"])
    assert result.exit_code == 2
    assert "faults.yaml.rules[0].rate: must be between 0 and 1" in result.output


def test_missing_faults_file_and_bad_profile(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["sim", "--faults", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2
    assert "cannot read the faults file" in missing.output
    profile = runner.invoke(app, ["sim", "--latency-profile", "slow"])
    assert profile.exit_code == 2
    assert "--latency-profile" in profile.output


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["sim", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
