"""Start-up: `aifinops --help` loads no heavy library; a command loads what it needs.

Each command imports the ledger, pricing, the simulator, the servers … inside its own
function, so help and every other command do not pay for them (docs/benchmarks.md,
CLI start-up). Each case runs the CLI in a fresh interpreter and lists the libraries
loaded when it exits.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aifinops.ledger.db import open_ledger

HEAVY = (
    "aiohttp",
    "aifinops.sim.company",
    "alembic",
    "fastapi",
    "genai_prices",
    "numpy",
    "orjson",
    "pydantic",
    "slack_sdk",
    "sqlalchemy",
    "uvicorn",
    "yaml",
)

PROBE = """
import atexit, sys
heavy = sys.argv.pop(1).split(",")
atexit.register(lambda: print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr))
from aifinops.cli import main
main()
"""


def loaded(args: list[str], cwd: Path, database_url: str | None = None) -> list[str]:
    """The HEAVY modules loaded by ``aifinops ARGS`` once it has run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    if database_url is not None:
        env["AIFINOPS_DATABASE_URL"] = database_url
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    names = ast.literal_eval(proc.stderr.strip().splitlines()[-1])
    assert isinstance(names, list)
    return names


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    assert loaded(["--help"], tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["waste", "--help"],
        ["price", "--help"],
        ["report", "spend", "--help"],
        ["serve", "--help"],
        ["sim", "--help"],
        ["demo", "--help"],
        ["import", "events", "--help"],
        ["alerts", "list", "--help"],
        ["tokens", "create", "--help"],
        ["gate", "--help"],
    ],
)
def test_command_help_loads_only_typers_pydantic(tmp_path: Path, args: list[str]) -> None:
    # Typer itself converts parameter values through pydantic when it builds a command
    assert loaded(args, tmp_path) == ["pydantic"]


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).dispose()  # created and migrated here: the commands open it at head
    return url


def test_waste_and_report_load_no_server_or_alembic(tmp_path: Path, ledger_url: str) -> None:
    # the settings (YAML) and the ledger (SQLAlchemy); reading negotiated rates does not
    # load the price data (genai_prices), which only pricing needs
    reads = ["pydantic", "sqlalchemy", "yaml"]
    assert loaded(["report", "spend", "--month", "last"], tmp_path, ledger_url) == reads
    # waste prices its savings, and reads eval scores (aifinops.ingest.files: orjson)
    waste = sorted([*reads, "genai_prices", "orjson"])
    assert loaded(["waste"], tmp_path, ledger_url) == waste


def test_settings_and_pricing_modules_load_no_price_data() -> None:
    probe = (
        "import sys, aifinops.settings, aifinops.pricing, aifinops.pricing.bulk;"
        "from aifinops.pricing.rates import load_rates_data;"
        "book = load_rates_data({'rates': [{'provider': 'openai', 'model': 'gpt-4o', "
        "'prices': {'input_mtok': '1.25', 'output_mtok': '5'}}]});"
        "print('genai_prices' in sys.modules);"
        "from aifinops.pricing import PricingEngine; PricingEngine(rates=book);"
        "print('genai_prices' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == ["False", "True"]


def test_price_loads_no_ledger(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"ts": "2026-11-01T10:00:00Z", "provider": "openai", "model": "gpt-4o"}\n')
    # bulk pricing is NumPy column arithmetic; JSONL is read with orjson
    expected = ["genai_prices", "numpy", "orjson", "pydantic", "yaml"]
    assert loaded(["price", str(events)], tmp_path) == expected


def test_help_texts_name_the_same_values_as_the_modules_they_no_longer_import() -> None:
    from aifinops.api.roles import ROLE_HELP
    from aifinops.cli import alerts, demo_data, tokens
    from aifinops.governance.alerts import KINDS
    from aifinops.sim.company.options import MAX_CUSTOMERS, MAX_DAYS

    assert alerts.KINDS == KINDS
    assert tokens.ROLE_HELP == ROLE_HELP
    assert (demo_data.MAX_DAYS, demo_data.MAX_CUSTOMERS) == (MAX_DAYS, MAX_CUSTOMERS)
