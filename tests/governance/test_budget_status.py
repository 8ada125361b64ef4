"""budget_status with a controllable clock: periods, boundaries, states, projection, drivers."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from aifinops.governance.status import (
    budget_status,
    budgets_status,
    parse_at,
    status_document,
    top_features,
)
from tests.governance.budget_helpers import budget, spend, utc

#: (time zone, the last second of October there, the first second of November), in UTC.
BOUNDARIES = [
    ("UTC", "2026-10-31T23:59:59", "2026-11-01T00:00:00"),
    ("UTC+5", "2026-10-31T18:59:59", "2026-10-31T19:00:00"),
    ("UTC-3", "2026-11-01T02:59:59", "2026-11-01T03:00:00"),
]


@pytest.mark.parametrize(("tz", "last", "first"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_month_boundary_lands_in_the_right_period(
    ledger: Engine, tz: str, last: str, first: str
) -> None:
    """23:59:59 on the last day of a month and 00:00:00 on the next, local time."""
    spend(ledger, "2026-10-15T10:20:00", "3")  # earlier in October: read from the rollup
    spend(ledger, last, "1")
    spend(ledger, first, "2")
    spend(ledger, "2026-09-20T12:00:00", "50")  # September: in neither
    b = budget(timezone=tz)
    hours = {"UTC": 0, "UTC+5": 5, "UTC-3": -3}[tz]
    oct_start = f"2026-{'09-30' if hours > 0 else '10-01'}T{(24 - hours) % 24:02d}:00:00Z"
    nov_start = f"{first}Z"

    with ledger.connect() as conn:
        october = budget_status(conn, b, utc(last))
        november = budget_status(conn, b, utc(first))
        before_last = budget_status(conn, b, utc(last).replace(second=58))

    assert october["period_start"] == oct_start
    assert october["period_end"] == october["resets_at"] == nov_start
    assert october["spend_usd"] == "4.000000000"  # 3 + 1, not the 2 at the boundary
    assert november["period_start"] == nov_start
    assert november["spend_usd"] == "2.000000000"
    assert november["timezone"] == tz
    assert before_last["spend_usd"] == "3.000000000"  # a call after `at` does not count


def test_day_and_week_periods_in_a_time_zone(ledger: Engine) -> None:
    spend(ledger, "2026-10-27T20:59:59", "1")  # Tuesday 23:59:59 in UTC+3
    spend(ledger, "2026-10-27T21:00:00", "2")  # Wednesday 00:00:00 in UTC+3
    spend(ledger, "2026-11-01T20:59:59", "4")  # Sunday 23:59:59 in UTC+3
    spend(ledger, "2026-11-01T21:00:00", "8")  # next Monday 00:00:00 in UTC+3
    day, week = budget(period="day", timezone="UTC+3"), budget(period="week", timezone="+03:00")
    with ledger.connect() as conn:
        tuesday = budget_status(conn, day, utc("2026-10-27T20:59:59"))
        wednesday = budget_status(conn, day, utc("2026-10-27T21:00:00"))
        this_week = budget_status(conn, week, utc("2026-11-01T20:59:59"))
        next_week = budget_status(conn, week, utc("2026-11-01T21:00:00"))
    assert (tuesday["period_start"], tuesday["spend_usd"]) == (
        "2026-10-26T21:00:00Z",
        "1.000000000",
    )
    assert (wednesday["period_end"], wednesday["spend_usd"]) == (
        "2026-10-28T21:00:00Z",
        "2.000000000",
    )
    assert this_week["period_start"] == "2026-10-25T21:00:00Z"  # Monday 00:00 UTC+3
    assert this_week["spend_usd"] == "7.000000000"
    assert (next_week["period_start"], next_week["spend_usd"]) == (
        "2026-11-01T21:00:00Z",
        "8.000000000",
    )


@pytest.mark.parametrize(
    ("spent", "state", "crossed", "text"),
    [
        ("4.99", "ok", None, "ok"),
        ("5", "threshold", 50, "threshold 50% crossed"),  # at the level counts
        ("9.5", "threshold", 90, "threshold 90% crossed"),
        ("11", "over_hard_limit", 90, "over hard limit → block"),
    ],
)
def test_states(ledger: Engine, spent: str, state: str, crossed: int | None, text: str) -> None:
    spend(ledger, "2026-10-10T10:00:00", spent)
    with ledger.connect() as conn:
        row = budget_status(conn, budget(action="block"), utc("2026-10-20T00:00:00"))
    assert (row["state"], row["crossed_threshold_pct"], row["state_text"]) == (
        state,
        crossed,
        text,
    )
    assert row["hard_limit_usd"] == "11.000000000" and row["action"] == "block"


def test_projection_is_linear_on_elapsed_time(ledger: Engine) -> None:
    spend(ledger, "2026-10-05T00:30:00", "1.5")
    b = budget(period="day")
    with ledger.connect() as conn:
        quarter = budget_status(conn, b, utc("2026-10-05T06:00:00"))
        start = budget_status(conn, b, utc("2026-10-05T00:00:00"))
    assert quarter["elapsed_pct"] == 25.0
    assert quarter["projected_usd"] == "6.000000000"  # 1.5 / 0.25
    assert quarter["projected_pct"] == 60.0 and quarter["spend_pct"] == 15.0
    assert start["projected_usd"] == start["spend_usd"] == "0.000000000"

    month = budget(amount_usd="300")  # October: 31 days; 10 days in, 100 spent → 310
    spend(ledger, "2026-10-06T00:00:00", "98.5")
    with ledger.connect() as conn:
        row = budget_status(conn, month, utc("2026-10-11T00:00:00"))
    assert row["spend_usd"] == "100.000000000"
    assert row["projected_usd"] == "310.000000000"


def test_list_or_effective_cost(ledger: Engine) -> None:
    spend(ledger, "2026-10-05T10:00:00", "2", list_usd="3")
    at = utc("2026-10-05T12:00:00")
    with ledger.connect() as conn:
        effective = budget_status(conn, budget(), at)
        listed = budget_status(conn, budget(cost="list"), at)
    assert (effective["spend_usd"], effective["cost"]) == ("2.000000000", "effective")
    assert (listed["spend_usd"], listed["cost"]) == ("3.000000000", "list")


def test_top_features_within_the_scope_and_period(ledger: Engine) -> None:
    for feature, usd in (("a", "3"), ("b", "2"), ("c", "1"), ("d", "0.5"), (None, "2.5")):
        spend(ledger, "2026-10-05T10:00:00", usd, feature=feature)
    spend(ledger, "2026-10-05T12:10:00", "1.5", feature="c")  # the hour of `at`: raw events
    spend(ledger, "2026-10-05T10:00:00", "100", feature="e", team="sales")  # other team
    spend(ledger, "2026-09-05T10:00:00", "100", feature="d")  # last month
    at = utc("2026-10-05T12:30:00")
    with ledger.connect() as conn:
        team = budget_status(conn, budget(), at)
        org = budget_status(conn, budget(scope="org"), at)
    assert top_features(team) == [("a", "3.000000000"), (None, "2.500000000"), ("c", "2.500000000")]
    assert team["top_feature_2"] is None and team["top_feature_2_usd"] == "2.500000000"
    assert team["spend_usd"] == "10.500000000"
    assert top_features(org)[0] == ("e", "100.000000000")
    assert org["spend_usd"] == "110.500000000" and org["name"] is None


def test_customer_feature_and_key_scopes(ledger: Engine) -> None:
    spend(ledger, "2026-10-05T10:00:00", "1", customer="acme", key="k1")
    spend(ledger, "2026-10-05T11:00:00", "2", customer="globex", key="k2", feature="other")
    spend(ledger, "2026-10-05T12:00:00", "4", customer="acme", key="k2")
    at = utc("2026-10-05T12:00:00")
    with ledger.connect() as conn:
        rows = budgets_status(
            conn,
            [
                budget(scope="customer", name="acme", amount_usd="100"),
                budget(scope="feature", name="bot", amount_usd="100"),
                budget(scope="key", name="k2", amount_usd="100"),
            ],
            at,
        )
    assert [r["spend_usd"] for r in rows] == ["5.000000000", "5.000000000", "6.000000000"]
    assert top_features(rows[2]) == [("bot", "4.000000000"), ("other", "2.000000000")]
    assert {r["at"] for r in rows} == {"2026-10-05T12:00:00Z"}
    doc = status_document(rows, at)
    assert doc["totals"] == {"budgets": 3, "ok": 3, "threshold": 0, "over_hard_limit": 0}
    assert doc["meta"] == {"at": "2026-10-05T12:00:00Z"}
    assert all(not isinstance(v, (dict, list)) for r in doc["rows"] for v in r.values())


def test_parse_at() -> None:
    assert parse_at("2026-10-31T23:59:59Z") == utc("2026-10-31T23:59:59")
    assert parse_at("2026-11-01T04:59:59+05:00") == utc("2026-10-31T23:59:59")
    assert parse_at("2026-10-31T23:59:59") == utc("2026-10-31T23:59:59")
    assert parse_at(None).tzinfo is not None and parse_at("now").tzinfo is not None
    with pytest.raises(ValueError, match="not an ISO-8601 time"):
        parse_at("yesterday")
