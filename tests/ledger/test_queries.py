"""Spend queries on the rollup, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from aifinops.ledger.queries import QueryError, SpendQuery, parse_group_by, spend
from aifinops.ledger.writer import write_rows
from tests.ledger.helpers import row

NOV1, NOV3 = date(2026, 11, 1), date(2026, 11, 3)


@pytest.fixture
def filled(ledger: Engine) -> Engine:
    rows = [row(i) for i in range(30)]
    rows.append(row(50, model="acme-private-ft-1", provider="openai", team="sales"))
    with ledger.begin() as conn:
        write_rows(conn, rows)
    return ledger


def test_group_by_team_sums_and_orders(filled: Engine) -> None:
    with filled.connect() as conn:
        result = spend(conn, SpendQuery(NOV1, NOV3, by=("team",)))
    teams = [r["team"] for r in result.rows]
    assert sorted(teams) == ["sales", "support"]
    costs = [r["effective_cost_nusd"] for r in result.rows]
    assert costs == sorted(costs, reverse=True)
    assert sum(r["calls"] for r in result.rows) == result.totals["calls"] == 31
    assert result.totals["unpriced_calls"] == 1
    assert (
        sum(r["effective_cost_nusd"] for r in result.rows) == result.totals["effective_cost_nusd"]
    )


def test_group_by_day_is_chronological_and_range_is_inclusive(filled: Engine) -> None:
    with filled.connect() as conn:
        result = spend(conn, SpendQuery(NOV1, NOV3, by=("day",)))
        one_day = spend(conn, SpendQuery(NOV3, NOV3, by=("day",)))
    days = [str(r["day"])[:10] for r in result.rows]
    assert days == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert [str(r["day"])[:10] for r in one_day.rows] == ["2026-11-03"]
    assert one_day.totals["calls"] == result.rows[2]["calls"]


def test_top_limits_rows_not_totals(filled: Engine) -> None:
    with filled.connect() as conn:
        result = spend(conn, SpendQuery(NOV1, NOV3, by=("customer",), top=2))
    assert len(result.rows) == 2
    assert result.totals["calls"] == 31


def test_filters(filled: Engine) -> None:
    with filled.connect() as conn:
        result = spend(conn, SpendQuery(NOV1, NOV3, by=("model",), filters=(("team", "sales"),)))
    assert {r["model"] for r in result.rows} == {"claude-sonnet-4-5", "acme-private-ft-1"}


def test_empty_range(filled: Engine) -> None:
    with filled.connect() as conn:
        result = spend(conn, SpendQuery(date(2020, 1, 1), date(2020, 1, 31), by=("team",)))
    assert result.rows == [] and result.totals["calls"] == 0


@pytest.mark.parametrize(("by", "field"), [("team,nope", "by"), ("colour", "by")])
def test_bad_group_by_names_the_option(by: str, field: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_group_by(by)
    assert info.value.field == field and "team" in str(info.value)


def test_group_by_aliases_collapse() -> None:
    assert parse_group_by("customer, customer_id,day") == ("customer", "day")
