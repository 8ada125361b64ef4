"""`aifinops export focus`: FOCUS 1.2 from the hourly rollups, checked by focus-validator."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.export.focus import COLUMNS, allocate, group_rows
from aifinops.ingest.events import import_events
from aifinops.ingest.files import iter_rows
from aifinops.ingest.raw import converter_for
from aifinops.ledger.db import open_ledger
from aifinops.ledger.queries import SpendQuery, spend
from aifinops.pricing import PricingEngine
from aifinops.sim.company import EVENTS_FILE, CompanyOptions, generate
from tests.export.conftest import ValidatorReport

runner = CliRunner()
FIRST, LAST = "2026-11-18", "2026-11-20"
#: focus-validator 2.2.1 with rule model 1.2.0.1 runs both branches of the InvoiceId
#: nullability OR (InvoiceId-C-003-C) as standalone rules with their conditions dropped,
#: so one of them fails on any dataset (FOCUS_Spec#2394). We leave InvoiceId null
#: (aifinops issues no invoice); the parent OR passes and is asserted below.
VALIDATOR_ARTIFACTS = frozenset({"InvoiceId-C-005-C"})


@pytest.fixture(scope="module")
def company_ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("focus")
    generate(root / "co", CompanyOptions(days=3, end=date(2026, 11, 20), scale=0.1, seed=7))
    url = f"sqlite:///{root / 'ledger.db'}"
    engine = open_ledger(url)
    with (root / "co" / EVENTS_FILE).open() as stream:
        summary = import_events(
            engine,
            PricingEngine(),
            iter_rows(stream, "jsonl"),
            converter_for("canonical"),
            on_reject=lambda r: pytest.fail(str(r)),
        )
    engine.dispose()
    assert summary.imported > 100
    return url


def export(url: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.chdir(out.parent)
    result = runner.invoke(
        app, ["export", "focus", "--from", FIRST, "--to", LAST, "--out", str(out)]
    )
    return result.exit_code, result.stdout, result.stderr


def test_allocate_is_exact() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(allocate(1_000_000_007, [3, 5, 11, 0])) == 1_000_000_007
    assert allocate(0, [1, 2]) == [0, 0]


def test_group_rows_split_cost_by_rate() -> None:
    group = {
        "day": date(2026, 11, 18),
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "team": "search",
        "feature": "",
        "customer_id": "c1",
        "prompt_version": "",
        "calls": 2,
        "unpriced_calls": 0,
        "input_tokens": 1000,
        "cache_read_tokens": 0,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "output_tokens": 1000,
        "reasoning_tokens": 100,
        "web_search_requests": 0,
        "list_cost_nusd": 18_000_000,  # $3/M in + $15/M out
        "effective_cost_nusd": 16_200_000,
    }
    rates = (3_000_000, 300_000, 3_750_000, 6_000_000, 15_000_000, 10_000_000_000)
    rows = group_rows(group, rates)
    assert [r["x_TokenType"] for r in rows] == ["input", "output"]
    assert [r["ListCost"] for r in rows] == ["0.003000000", "0.015000000"]
    assert [r["ListUnitPrice"] for r in rows] == ["0.003", "0.015"]  # per 1000 tokens
    assert rows[1]["EffectiveCost"] == "0.013500000" and rows[1]["x_ReasoningTokens"] == 100
    assert rows[0]["PricingQuantity"] == "1.0" and rows[0]["PricingUnit"] == "1000 Tokens"
    assert rows[0]["Tags"] == '{"customer_id":"c1","team":"search"}'
    assert rows[0]["BillingPeriodStart"] == "2026-11-01T00:00:00Z"
    assert rows[0]["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert rows[0]["ChargePeriodEnd"] == "2026-11-19T00:00:00Z"
    # FOCUS 1.3 beside 1.2: the service provider and host are the provider itself
    assert rows[0]["ServiceProviderName"] == rows[0]["HostProviderName"] == "Anthropic"
    assert rows[0]["ProviderName"] == rows[0]["InvoiceIssuerName"] == "Anthropic"


def test_export_adds_up_to_the_ledger(
    company_ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "focus.csv"
    code, stdout, err = export(company_ledger, out, monkeypatch)
    assert code == 0, err
    assert "FOCUS rows" in stdout
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == list(COLUMNS)
    engine = open_ledger(company_ledger)
    with engine.connect() as conn:
        totals = spend(
            conn, SpendQuery(start=date.fromisoformat(FIRST), end=date.fromisoformat(LAST))
        ).totals
    engine.dispose()
    billed = sum(Decimal(r["BilledCost"]) for r in rows)
    listed = sum(Decimal(r["ListCost"]) for r in rows)
    assert billed == Decimal(totals["effective_cost_nusd"]).scaleb(-9)
    assert listed == Decimal(totals["list_cost_nusd"]).scaleb(-9)
    tokens = sum(int(r["x_Tokens"]) for r in rows if r["ConsumedUnit"] == "Tokens")
    assert tokens == sum(
        totals[k]
        for k in (
            "input_tokens",
            "cache_read_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
            "output_tokens",
        )
    )
    assert {r["ServiceCategory"] for r in rows} == {"AI and Machine Learning"}


def test_bad_suffixes_and_empty_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = export(url, tmp_path / "x.xlsx", monkeypatch)
    assert code == 2 and "--out" in err and "must end in .csv or .parquet" in err
    code, _, err = export(url, tmp_path / "x.csv", monkeypatch)
    assert code == 3 and "no usage" in err
    code, _, err = export(url, tmp_path / "x.parquet", monkeypatch)
    assert code == 3 and "no usage" in err
    empty = pq.read_table(tmp_path / "x.parquet")
    assert empty.num_rows == 0 and empty.schema.names == list(COLUMNS)
    assert not list(tmp_path.glob(".focus-*"))  # no temporary file left behind


def _from_text(name: str, text: str, kind: pa.DataType) -> object:
    """A CSV cell as the value the Parquet column should hold (independently of the
    exporter's own conversion)."""
    if text == "":
        return None
    if pa.types.is_decimal(kind):
        return Decimal(text)
    if pa.types.is_timestamp(kind):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if pa.types.is_integer(kind):
        return int(text)
    return text


def test_parquet_holds_the_csv_rows_typed(
    company_ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_out, parquet_out = tmp_path / "focus.csv", tmp_path / "focus.parquet"
    assert export(company_ledger, csv_out, monkeypatch)[0] == 0
    code, stdout, err = export(company_ledger, parquet_out, monkeypatch)
    assert code == 0, err
    assert "FOCUS rows" in stdout and str(parquet_out) in stdout
    table = pq.read_table(parquet_out)
    schema = table.schema
    assert schema.names == list(COLUMNS)
    for name in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert schema.field(name).type == pa.decimal128(38, 9)
    assert schema.field("ListUnitPrice").type == pa.decimal128(38, 12)
    assert schema.field("PricingQuantity").type == pa.decimal128(38, 9)
    assert schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    assert schema.field("x_Tokens").type == pa.int64()
    assert schema.field("Tags").type == pa.string()
    with csv_out.open(newline="") as stream:
        texts = list(csv.DictReader(stream))
    values = table.to_pylist()
    assert len(values) == len(texts) > 100
    for number, (text_row, value_row) in enumerate(zip(texts, values, strict=True)):
        expected = {n: _from_text(n, t, schema.field(n).type) for n, t in text_row.items()}
        assert value_row == expected, f"row {number}"
    assert value_row["ChargePeriodStart"].utcoffset() == timedelta(0)


def test_the_parquet_export_passes_focus_validator(
    company_ledger: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    focus_validator: Callable[[Path], ValidatorReport],
) -> None:
    out = tmp_path / "focus.parquet"
    assert export(company_ledger, out, monkeypatch)[0] == 0
    report = focus_validator(out)  # it reads Parquet itself (polars), by the file's suffix
    assert report.passed > 100
    assert not report.failed_rules - VALIDATOR_ARTIFACTS, report.output[-4000:]
    assert report.failed - len(report.failed_rules & VALIDATOR_ARTIFACTS) == 0
    assert "InvoiceId-C-003-C" in report.passed_rules


def test_the_export_passes_focus_validator(
    company_ledger: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    focus_validator: Callable[[Path], ValidatorReport],
) -> None:
    out = tmp_path / "focus.csv"
    assert export(company_ledger, out, monkeypatch)[0] == 0
    report = focus_validator(out)
    assert report.passed > 100
    real_failures = report.failed_rules - VALIDATOR_ARTIFACTS
    assert not real_failures, report.output[-4000:]
    assert report.failed - len(report.failed_rules & VALIDATOR_ARTIFACTS) == 0  # Fail: 0
    assert "InvoiceId-C-003-C" in report.passed_rules  # the InvoiceId nullability OR holds
