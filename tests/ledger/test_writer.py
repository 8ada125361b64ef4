"""Idempotent writes and rollups maintained at insert time, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from aifinops.ledger.schema import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    rollup_daily,
    rollup_hourly,
    usage_events,
)
from aifinops.ledger.writer import write_events, write_rows
from aifinops.usage import event_from_flat
from tests.ledger.helpers import row


def rollups(engine: Engine) -> dict[tuple[Any, ...], dict[str, int]]:
    with engine.connect() as conn:
        out = {}
        for r in conn.execute(select(rollup_hourly)).mappings():
            hour = r["hour"].replace(tzinfo=None)
            out[(hour, *(r[d] for d in ROLLUP_DIMENSIONS))] = {m: r[m] for m in ROLLUP_MEASURES}
        return out


def expected_rollups(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, int]]:
    out: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        hour = r["ts"].replace(minute=0, second=0, microsecond=0, tzinfo=None)
        key = (hour, *(r[d] or "" for d in ROLLUP_DIMENSIONS))
        m = out[key]
        m["calls"] += 1
        unpriced = r["list_cost_nusd"] is None
        m["errors"] += int(bool(r["error_type"]) or (r["status"] or 0) >= 400)
        m["unpriced_calls"] += int(unpriced)
        tokens = sum(
            r[k]
            for k in (
                "input_tokens",
                "cache_read_tokens",
                "cache_write_5m_tokens",
                "cache_write_1h_tokens",
                "output_tokens",
            )
        )
        m["unpriced_tokens"] += tokens if unpriced else 0
        for k in ROLLUP_MEASURES[4:11]:
            m[k] += r[k]
        m["list_cost_nusd"] += r["list_cost_nusd"] or 0
        m["effective_cost_nusd"] += r["effective_cost_nusd"] or 0
    return {k: {m: v.get(m, 0) for m in ROLLUP_MEASURES} for k, v in out.items()}


def test_rollups_equal_the_raw_aggregate(ledger: Engine) -> None:
    rows = [row(i) for i in range(60)]
    rows.append(row(100, model="acme-private-ft-1", provider="openai"))
    rows.append(row(101, status=529, error_type="overloaded_error", output_tokens=0))
    rows.append(row(102, team=None, customer_id=None))
    with ledger.begin() as conn:
        result = write_rows(conn, rows)
    assert (result.inserted, result.duplicates) == (63, 0)
    assert rollups(ledger) == expected_rollups(rows)
    unpriced = [k for k, v in rollups(ledger).items() if v["unpriced_calls"]]
    assert len(unpriced) == 1 and unpriced[0][2] == "acme-private-ft-1"


def test_replay_adds_nothing(ledger: Engine) -> None:
    rows = [row(i) for i in range(10)]
    with ledger.begin() as conn:
        write_rows(conn, rows)
    before = rollups(ledger)
    with ledger.begin() as conn:
        again = write_rows(conn, [*rows, row(10)])
    assert (again.inserted, again.duplicates) == (1, 10)
    after = rollups(ledger)
    assert after == expected_rollups([*rows, row(10)])
    assert after != before
    with ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 11


def test_duplicates_inside_one_batch_count_once(ledger: Engine) -> None:
    with ledger.begin() as conn:
        result = write_rows(conn, [row(1), row(1), row(2)])
    assert (result.inserted, result.duplicates) == (2, 1)
    assert sum(v["calls"] for v in rollups(ledger).values()) == 2


def test_a_failed_batch_leaves_nothing(ledger: Engine) -> None:
    good, bad = row(1), row(2)
    bad["provider"] = None  # NOT NULL in the ledger: the batch must fail as a whole
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), ledger.begin() as conn:
        write_rows(conn, [good, bad])
    assert rollups(ledger) == {}
    with ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 0


def test_events_round_trip(ledger: Engine) -> None:
    flat = row(5, tag_env="prod", guardrails=["max_tokens"], max_tokens=512, batch=True)
    event = event_from_flat(flat)
    with ledger.begin() as conn:
        write_events(conn, [event])
    with ledger.connect() as conn:
        stored = conn.execute(select(usage_events)).mappings().one()
    assert stored["tags"] == {"env": "prod"}
    assert stored["guardrails"] == ["max_tokens"]
    assert stored["max_tokens"] == 512
    assert stored["batch"] is True
    assert stored["list_cost_nusd"] == flat["list_cost_nusd"]
    assert stored["unpriced"] is False


def daily_from_hourly(engine: Engine) -> dict[tuple[Any, ...], dict[str, int]]:
    out: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (hour, *dims), measures in rollups(engine).items():
        for m, v in measures.items():
            out[(hour.date(), *dims)][m] += v
    return {k: dict(v) for k, v in out.items()}


def daily(engine: Engine) -> dict[tuple[Any, ...], dict[str, int]]:
    with engine.connect() as conn:
        return {
            (r["day"], *(r[d] for d in ROLLUP_DIMENSIONS)): {m: r[m] for m in ROLLUP_MEASURES}
            for r in conn.execute(select(rollup_daily)).mappings()
        }


def test_daily_rollup_matches_the_events_summed_by_day(ledger: Engine) -> None:
    """Computed apart from the ledger: the daily rollup (on SQLite, the hourly deltas
    summed by day) equals the events grouped by day, errors and unpriced calls included."""
    rows = [row(i) for i in range(60)]
    rows += [row(60 + i, model="no-such-model") for i in range(6)]  # unpriced
    rows += [row(70 + i, status=500, error_type="upstream_error") for i in range(5)]
    with ledger.begin() as conn:
        write_rows(conn, rows[:40])
    with ledger.begin() as conn:
        write_rows(conn, rows[25:])  # 15 duplicates, the rest new
    expected: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (hour, *dims), measures in expected_rollups(rows).items():
        for m, v in measures.items():
            expected[(hour.date(), *dims)][m] += v
    assert daily(ledger) == {k: dict(v) for k, v in expected.items()}
    assert sum(v["unpriced_calls"] for v in daily(ledger).values()) == 6
    assert sum(v["errors"] for v in daily(ledger).values()) == 5


def test_daily_rollup_is_the_hourly_one_summed_by_day(ledger: Engine) -> None:
    rows = [row(i) for i in range(80)]
    with ledger.begin() as conn:
        write_rows(conn, rows[:50])
    with ledger.begin() as conn:
        write_rows(conn, rows[30:])  # 20 duplicates, 30 new
    assert daily(ledger) == daily_from_hourly(ledger)
    assert sum(v["calls"] for v in daily(ledger).values()) == 80


def test_a_units_attribution_is_fixed_by_the_write_that_first_records_it(ledger: Engine) -> None:
    """As docs/unit-economics.md says: the first write's calls decide (each dimension's
    smallest non-empty value should they disagree); later calls add their measures only."""
    from aifinops.ledger.schema_economics import unit_rollup

    first = [
        row(1, unit_id="u", team="support", feature="triage", customer_id=None),
        row(2, unit_id="u", team="sales", feature=None, customer_id="c9"),
        row(3, unit_id="u", team=None, feature="search", customer_id="c2"),
    ]
    later = [row(4, unit_id="u", team="analytics", feature="archive", customer_id="c0")]
    with ledger.begin() as conn:
        write_rows(conn, first)
    with ledger.begin() as conn:
        write_rows(conn, later)
    with ledger.connect() as conn:
        unit = conn.execute(select(unit_rollup).where(unit_rollup.c.unit_id == "u")).one()
    assert (unit.team, unit.feature, unit.customer_id) == ("sales", "search", "c2")
    assert unit.calls == 4
    costs = [r["effective_cost_nusd"] for r in (*first, *later)]
    assert unit.effective_cost_nusd == sum(costs)
