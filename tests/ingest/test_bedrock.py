"""`aifinops import bedrock-logs DIR` and `import bedrock-cur FILE`."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
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


def _cur_costs(url: str) -> list[tuple[Any, ...]]:
    engine = open_ledger(url)
    with engine.connect() as conn:
        found = conn.execute(
            select(
                provider_costs.c.day,
                provider_costs.c.row_key,
                provider_costs.c.model,
                provider_costs.c.token_type,
                provider_costs.c.line_item,
                provider_costs.c.account_id,
                provider_costs.c.cost_nusd,
                provider_costs.c.quantity,
            ).order_by(provider_costs.c.day, provider_costs.c.row_key)
        ).all()
    engine.dispose()
    # quantities compare as numbers: Parquet has 1.0 where the CSV has 1
    return [(*r[:-1], Decimal(r[-1]) if r[-1] is not None else None) for r in found]


def test_cur_parquet_imports_to_the_same_costs_as_csv(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CUR 2.0 Parquet file as Data Exports writes it: timestamps, doubles, and the
    product code only inside the ``product`` map on some rows."""
    sonnet = "USE1-Claude4.6Sonnet"
    rows: list[tuple[str, str, str, float, float, str]] = [
        ("2026-08-01T00:00:00Z", "AmazonBedrock", f"{sonnet}-input-tokens", 1.5, 0.0045, "USD"),
        ("2026-08-01T01:00:00Z", "AmazonBedrock", f"{sonnet}-input-tokens", 0.5, 0.0015, "USD"),
        ("2026-08-01T01:00:00Z", "AmazonBedrock", f"{sonnet}-output-tokens", 1.0, 0.015, "USD"),
        ("2026-08-02T00:00:00Z", "", f"{sonnet}-cache-read-input-token-count", 3.0, 0.0009, "USD"),
        ("2026-08-02T00:00:00Z", "AmazonEC2", "BoxUsage:t3.micro", 1.0, 0.0104, "USD"),
        ("2026-08-02T00:00:00Z", "AmazonBedrock", f"{sonnet}-input-tokens", 1.0, 0.003, "EUR"),
    ]
    cur_csv = tmp_path / "cur.csv"
    cur_csv.write_text(
        CUR_HEADER.replace("line_item_resource_id", "line_item_resource_id,product_servicecode")
        + "".join(
            f"{ts},{code},{kind},Usage,{amount:g},{cost},{cur},111,,"
            + (code or "AmazonBedrock")
            + "\n"
            for ts, code, kind, amount, cost, cur in rows
        )
    )
    code, _, err = run("import", "bedrock-cur", str(cur_csv))
    assert code == 1 and "'EUR' is not USD" in err
    from_csv = _cur_costs(env)
    assert len(from_csv) == 3 and sum(r[6] for r in from_csv) == 21_900_000

    def product(code: str) -> list[tuple[str, str]]:
        name = "Amazon EC2" if code == "AmazonEC2" else "Amazon Bedrock"
        return [("servicecode", code or "AmazonBedrock"), ("product_name", name)]

    table = pa.table(
        {
            "line_item_usage_start_date": pa.array(
                [datetime.fromisoformat(r[0].replace("Z", "+00:00")) for r in rows],
                pa.timestamp("ms", tz="UTC"),
            ),
            "line_item_product_code": pa.array([r[1] or None for r in rows], pa.string()),
            "line_item_usage_type": [r[2] for r in rows],
            "line_item_line_item_type": ["Usage"] * len(rows),
            "line_item_usage_amount": pa.array([r[3] for r in rows], pa.float64()),
            "line_item_unblended_cost": pa.array([r[4] for r in rows], pa.float64()),
            "line_item_currency_code": [r[5] for r in rows],
            "line_item_usage_account_id": ["111"] * len(rows),
            "line_item_resource_id": pa.array([None] * len(rows), pa.string()),
            "product": pa.array([product(r[1]) for r in rows], pa.map_(pa.string(), pa.string())),
        }
    )
    cur_parquet = tmp_path / "cur.parquet"
    pq.write_table(table, cur_parquet)
    parquet_url = f"sqlite:///{tmp_path / 'parquet.db'}"
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", parquet_url)
    code, out, err = run("import", "bedrock-cur", str(cur_parquet))
    assert code == 1 and "cur.parquet:6: line_item_currency_code" in err
    assert "1 other services skipped" in out
    assert _cur_costs(parquet_url) == from_csv


def test_a_bad_parquet_cur_names_the_problem(env: str, tmp_path: Path) -> None:
    broken = tmp_path / "cut.parquet"
    broken.write_bytes(b"PAR1 not really")
    code, _, err = run("import", "bedrock-cur", str(broken))
    assert code == 2 and "not a readable Parquet file" in err
    partial = tmp_path / "partial.parquet"
    pq.write_table(pa.table({"line_item_usage_type": ["x"]}), partial)
    code, _, err = run("import", "bedrock-cur", str(partial))
    assert code == 2 and "column line_item_usage_start_date is missing" in err
