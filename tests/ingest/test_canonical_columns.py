"""Plain canonical records validated field by field give exactly what record-by-record
validation gives, and any record outside the plain shape sends the batch the slow way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.ingest import events
from aifinops.ingest.canonical_columns import canonical_values
from aifinops.ingest.events import prepare
from aifinops.ingest.files import Row
from aifinops.ledger.writer import EVENT_COLUMNS, transpose_rows
from aifinops.pricing import PricingEngine
from aifinops.usage import ATTRIBUTION_FIELDS, TOKEN_FIELDS, RecordError, flat_from_record
from tests.ingest.test_import_spans import RATES

START = datetime(2026, 10, 31, 22, tzinfo=UTC)
_text = st.sampled_from([None, "a", "b", " padded ", "", "  ", "Zeta", "é"])
_count = st.one_of(st.sampled_from([0, 1, 4095, 4096]), st.integers(0, 10**9))
_opt_int = st.one_of(st.none(), st.integers(-5, 70_000))

#: Field -> values of the plain shape.
PLAIN: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(ATTRIBUTION_FIELDS, _text),
    **dict.fromkeys(
        ("request_id", "requested_model", "endpoint", "service_tier", "stop_reason"), _text
    ),
    **dict.fromkeys(("system_hash", "prefix_hash", "error_type", "route_reason"), _text),
    # reasoning_tokens is drawn within output_tokens (`plain_record`)
    **dict.fromkeys((t for t in TOKEN_FIELDS if t != "reasoning_tokens"), _count),
    **dict.fromkeys(
        ("duration_ms", "ttft_ms", "max_tokens", "system_tokens", "context_chunks", "status"),
        _opt_int,
    ),
    **dict.fromkeys(("batch", "usage_estimated", "unattributed", "unpriced"), st.booleans()),
}

#: Values outside the plain shape (some valid, some not).
ODD: dict[str, st.SearchStrategy[Any]] = {
    "ts": st.sampled_from(
        ["2026-10-31T22:00:00+00:00", "2026-02-30T00:00:00Z", "2026-10-31 22:00:00Z", 5, None]
    ),
    "event_id": st.sampled_from(["", "  ", None, 7]),
    "provider": st.sampled_from(["", None, 3]),
    "model": st.sampled_from(["  ", None]),
    "team": st.sampled_from([12, True, ["x"]]),
    "input_tokens": st.sampled_from([-1, "12", None, True, 1.0, 2.5]),
    "max_tokens": st.sampled_from(["12", True, 3.0, "x"]),
    "batch": st.sampled_from(["true", 1, 0, None, "maybe"]),
    "reasoning_tokens": st.just(10**10),
    "tags": st.just({"env": "prod"}),
    "guardrails": st.just(["pii"]),
    "tag_env": st.just("prod"),
    "unknown_column": st.just("ignored"),
}


@st.composite
def plain_record(draw: st.DrawFn) -> dict[str, Any]:
    ts = START + timedelta(seconds=draw(st.integers(0, 5 * 86_400)))
    rec: dict[str, Any] = {
        "event_id": draw(st.sampled_from(["e1", "e2", " e3 ", "E1", "e4", "e5", "e6"])),
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "provider": draw(st.sampled_from(["anthropic", "OpenAI", " openai "])),
        "model": draw(st.sampled_from(["claude-sonnet-4-5", "gpt-4o-mini", "private-x"])),
    }
    for key in draw(st.lists(st.sampled_from(sorted(PLAIN)), unique=True, max_size=20)):
        rec[key] = draw(PLAIN[key])
    if "output_tokens" in rec:
        rec["reasoning_tokens"] = draw(st.integers(0, rec["output_tokens"]))
    return rec


@st.composite
def any_record(draw: st.DrawFn) -> dict[str, Any]:
    rec = draw(plain_record())
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(sorted(ODD)))
        rec[key] = draw(ODD[key])
    return rec


def record_by_record(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """`transpose_rows` of each event id's first record, validated one at a time."""
    first: dict[str, dict[str, Any]] = {}
    for flat in map(flat_from_record, records):
        first.setdefault(flat["event_id"], flat)
    return transpose_rows(list(first.values()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plain_record(), min_size=1, max_size=30))
def test_plain_batches_are_validated_field_by_field(records: list[dict[str, Any]]) -> None:
    values = canonical_values(records, EVENT_COLUMNS)
    assert values is not None
    assert values == record_by_record(records)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_record(), min_size=1, max_size=12))
def test_other_batches_go_record_by_record(records: list[dict[str, Any]]) -> None:
    values = canonical_values(records, EVENT_COLUMNS)
    try:
        expected = record_by_record(records)
    except RecordError:
        assert values is None  # a bad record: its error comes from the slow way
        return
    assert values is None or values == expected


def test_what_sends_a_batch_the_slow_way() -> None:
    good = {"event_id": "e", "ts": "2026-10-31T22:00:00Z", "provider": "openai", "model": "m"}
    assert canonical_values([good], EVENT_COLUMNS) is not None
    for key, value in [
        ("ts", "2026-10-31T22:00:00+00:00"),  # valid, but not the plain form
        ("ts", "2026-02-30T00:00:00Z"),  # the plain form, not a date
        ("event_id", " "),  # derived from the record
        ("input_tokens", "12"),
        ("input_tokens", -1),
        ("max_tokens", True),
        ("batch", 1),
        ("tags", {"a": "b"}),
        ("tag_env", "prod"),
        ("somewhere_else", 1),
    ]:
        assert canonical_values([good, {**good, key: value}], EVENT_COLUMNS) is None, key
    del good["model"]
    assert canonical_values([good], EVENT_COLUMNS) is None


def _prepare(records: list[dict[str, Any]]) -> events.PreparedBatch:
    rows = [Row(i + 1, r) for i, r in enumerate(records)]
    return prepare(rows, flat_from_record, PricingEngine(rates=RATES), "sqlite")


def test_prepare_gives_the_same_batch_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [
        {
            "event_id": f"ev-{i}",
            "ts": (START + timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provider": ["anthropic", "openai"][i % 2],
            "model": ["claude-sonnet-4-5", "gpt-4o-mini", "acme-private-1"][i % 3],
            "team": ["support", None][i % 2],
            "unit_id": f"u-{i // 3}",
            "input_tokens": 100 + i,
            "output_tokens": 7 * i,
            "max_tokens": None if i % 4 else 1024,
            "batch": i % 5 == 0,
        }
        for i in range(90)
    ]
    records[40:40] = [records[3]]  # a duplicate: the first row counts
    fast = _prepare(records)
    monkeypatch.setattr(events, "canonical_values", lambda *a: None)
    slow = _prepare(records)
    assert (fast.rows, fast.valid, fast.unpriced) == (slow.rows, slow.valid, slow.unpriced)
    assert (fast.rows, fast.valid) == (91, 91)
    assert fast.unpriced > 0
    assert (fast.columns, fast.params) == (slow.columns, slow.params)
    assert fast.inputs.equals(slow.inputs)


def test_a_bad_row_is_still_reported_with_its_line() -> None:
    good = {"event_id": "e1", "ts": "2026-10-31T22:00:00Z", "provider": "openai", "model": "m"}
    bad = {**good, "event_id": "e2", "input_tokens": -3}
    batch = _prepare([good, bad, {**good, "event_id": "e3"}])
    assert batch.valid == 2
    assert [(r.line, r.field) for r in batch.rejections] == [(2, "input_tokens")]
