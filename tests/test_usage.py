"""The canonical record: flat rows in and out, defaults, and errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aifinops.usage import (
    RecordError,
    Usage,
    derive_event_id,
    event_from_record,
    event_to_record,
    flat_from_record,
    parse_ts,
)


def test_minimal_row_defaults() -> None:
    event = event_from_record(
        {"ts": "2026-11-01T10:00:00Z", "provider": "OpenAI", "model": "gpt-5"}
    )
    assert event.ts == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert event.provider == "openai"
    assert event.usage == Usage()
    assert event.event_id.startswith("ev_")
    assert not event.batch and not event.unpriced


def test_event_id_is_stable_and_content_based() -> None:
    row = {"ts": "2026-11-01T10:00:00Z", "provider": "openai", "model": "gpt-5", "input_tokens": 3}
    assert derive_event_id(row) == derive_event_id(dict(reversed(list(row.items()))))
    assert derive_event_id(row) != derive_event_id({**row, "input_tokens": 4})


def test_csv_strings_and_tags() -> None:
    event = event_from_record(
        {
            "event_id": "e1",
            "ts": "2026-11-01 10:00:00",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "input_tokens": "12",
            "cache_read_tokens": "",
            "output_tokens": "7",
            "batch": "true",
            "team": "support",
            "customer_id": "cust-1",
            "tag_env": "prod",
            "tag_empty": "",
            "max_tokens": "1024",
        }
    )
    assert event.usage == Usage(input_tokens=12, output_tokens=7)
    assert event.batch is True
    assert event.attribution.team == "support"
    assert event.attribution.tags == {"env": "prod"}
    assert event.max_tokens == 1024


def test_offset_timestamps_become_utc() -> None:
    event = event_from_record({"ts": "2026-11-01T23:30:00-05:00", "provider": "o", "model": "m"})
    assert event.ts == datetime(2026, 11, 2, 4, 30, tzinfo=UTC)


def test_round_trip() -> None:
    row = {
        "event_id": "e1",
        "ts": "2026-11-01T10:00:00Z",
        "provider": "openai",
        "model": "gpt-5",
        "input_tokens": 5,
        "output_tokens": 9,
        "reasoning_tokens": 4,
        "team": "t",
        "tag_region": "eu",
        "guardrails": ["max_tokens"],
    }
    back = event_to_record(event_from_record(row))
    for key, value in row.items():
        assert back[key] == value, key


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"provider": "openai", "model": "gpt-5"}, "ts"),
        ({"ts": "yesterday", "provider": "openai", "model": "gpt-5"}, "ts"),
        ({"ts": "2026-11-01T00:00:00Z", "model": "gpt-5"}, "provider"),
        ({"ts": "2026-11-01T00:00:00Z", "provider": "openai"}, "model"),
        (
            {"ts": "2026-11-01T00:00:00Z", "provider": "o", "model": "m", "input_tokens": -1},
            "input_tokens",
        ),
        (
            {"ts": "2026-11-01T00:00:00Z", "provider": "o", "model": "m", "output_tokens": "many"},
            "output_tokens",
        ),
        (
            {
                "ts": "2026-11-01T00:00:00Z",
                "provider": "o",
                "model": "m",
                "output_tokens": 1,
                "reasoning_tokens": 2,
            },
            "reasoning_tokens",
        ),
        ({"ts": "2026-11-01T00:00:00Z", "provider": "o", "model": "m", "batch": "maybe"}, "batch"),
        ({"ts": "2026-11-01T00:00:00Z", "provider": "o", "model": "m", "tags": "x"}, "tags"),
    ],
)
def test_bad_rows_name_the_field(row: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as info:
        event_from_record(row)
    assert info.value.field == field


@pytest.mark.parametrize(
    "ts",
    [
        "2026-11-01T10:00:00Z",  # the common shape, read directly
        "2026-11-01T10:00:00z",
        "2026-11-31T10:00:00Z",  # no such day
        "2026-11-01T24:00:00Z",
        "2026-W44-1T10:00:00Z",  # ISO week date, same length
        "2026-11-01 10:00:00Z",
        " 2026-11-01T10:00:0Z",
        "2026-11-01T10:00:00+02:00",
        "2026-11-01",
    ],
)
def test_every_timestamp_reads_as_parse_ts_reads_it(ts: str) -> None:
    row = {"ts": ts, "provider": "o", "model": "m"}
    try:
        expected = parse_ts(ts)
    except RecordError as error:
        with pytest.raises(RecordError) as info:
            flat_from_record(row)
        assert (info.value.field, info.value.reason) == (error.field, error.reason)
    else:
        got = flat_from_record(row)["ts"]
        assert got == expected
        assert got.tzinfo is UTC
