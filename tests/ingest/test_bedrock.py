"""`aifinops import bedrock-logs DIR` and `import bedrock-cur FILE`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.ingest.bedrock_cur import split_usage_type
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import usage_events
from aifinops.ledger.schema_reports import provider_costs

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def record(i: int, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-08-28T12:00:{i % 60:02d}Z",
        "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/app/s"},
        "region": "us-east-1",
        "requestId": f"req-{i}",
        "operation": "Converse",
        "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "input": {"inputTokenCount": 20, "cacheReadInputTokenCount": 100},
        "output": {"outputTokenCount": 50},
        "requestMetadata": {"team": "search", "feature": "answers", "costCentre": "CC-1"},
    }
    rec.update(overrides)
    return rec


def lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def write_logs(root: Path) -> None:
    day = root / "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/08/28/12"
    day.mkdir(parents=True)
    (day / "a.json.gz").write_bytes(gzip.compress(lines([record(i) for i in range(3)])))
    (day / "b.json").write_bytes(lines([record(i) for i in range(3, 5)]))


def event_count(url: str) -> tuple[int, str | None]:
    engine = open_ledger(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(usage_events))
        team = conn.scalar(select(usage_events.c.team))
    engine.dispose()
    return int(n or 0), team


def test_logs_become_attributed_events_once(env: str, tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    code, out, err = run("import", "bedrock-logs", str(tmp_path / "logs"))
    assert code == 0, err
    assert "2 files, 5 records: imported 5" in out
    assert event_count(env) == (5, "search")
    code, out, _ = run("import", "bedrock-logs", str(tmp_path / "logs"))
    assert code == 0 and "imported 0, duplicates skipped 5" in out


def test_gzip_cut_short_imports_what_it_can(env: str, tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    full = gzip.compress(lines([record(i) for i in range(400)]), compresslevel=1)
    (root / "cut.json.gz").write_bytes(full[: len(full) * 2 // 3])
    bad = record(999)
    del bad["output"]
    (root / "ok.json").write_bytes(lines([record(1000), bad]))
    code, _, err = run("import", "bedrock-logs", str(root))
    assert code == 1
    assert "cut.json.gz: the gzip file is cut short" in err
    assert "ok.json:2: output: is required" in err or "ok.json:2: output" in err
    imported, _ = event_count(env)
    assert 0 < imported < 401


CUR_HEADER = (
    "line_item_usage_start_date,line_item_product_code,line_item_usage_type,"
    "line_item_line_item_type,line_item_usage_amount,line_item_unblended_cost,"
    "line_item_currency_code,line_item_usage_account_id,line_item_resource_id\n"
)


def test_split_usage_type() -> None:
    assert split_usage_type("USE1-Claude4.6Sonnet-input-tokens") == (
        "USE1",
        "Claude4.6Sonnet",
        "input",
    )
    assert split_usage_type("USW2-Llama3-70B-cache-read-input-token-count")[2] == "cache_read"
    assert split_usage_type("USE1-SomethingElse") == (None, None, None)


def test_cur_rows_are_summed_by_day_and_replaced(env: str, tmp_path: Path) -> None:
    cur = tmp_path / "cur.csv"
    sonnet = "AmazonBedrock,USE1-Claude4.6Sonnet"
    cur.write_text(
        CUR_HEADER
        + f"2026-08-01T00:00:00Z,{sonnet}-input-tokens,Usage,1.5,0.0045,USD,111,\n"
        + f"2026-08-01T01:00:00Z,{sonnet}-input-tokens,Usage,0.5,0.0015,USD,111,\n"
        + f"2026-08-01T01:00:00Z,{sonnet}-output-tokens,Usage,1,0.015,USD,111,\n"
        + "2026-08-02T00:00:00Z,AmazonEC2,BoxUsage:t3.micro,Usage,1,0.0104,USD,111,\n"
        + f"2026-08-02T00:00:00Z,{sonnet}-input-tokens,Usage,1,0.003,EUR,111,\n"
    )
    code, out, err = run("import", "bedrock-cur", str(cur))
    assert code == 1  # the EUR row
    assert "'EUR' is not USD" in err
    assert "2 cost rows stored for 1 days" in out and "1 other services skipped" in out
    assert run("import", "bedrock-cur", str(cur))[0] == 1
    engine = open_ledger(env)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                provider_costs.c.token_type, provider_costs.c.cost_nusd, provider_costs.c.quantity
            ).order_by(provider_costs.c.token_type)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("input", 6_000_000, "2.0"), ("output", 15_000_000, "1")]


def test_cur_without_the_columns_names_them(env: str, tmp_path: Path) -> None:
    cur = tmp_path / "cur.csv"
    cur.write_text("a,b\n1,2\n")
    code, _, err = run("import", "bedrock-cur", str(cur))
    assert code == 2 and "line_item_usage_start_date is missing" in err
