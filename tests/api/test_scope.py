"""Rows never leave the caller's scope, for any filters (property-based), checked against
the raw events directly rather than through the query layer under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.money import nusd_to_usd
from tests.api.conftest import FIRST, Client, Filled

READERS = (
    "admin",
    "finance",
    "team:support",
    "team:sales",
    "customer:cust-001",
    "customer:cust-004",
)
#: API filter name → event column.
FILTERS = {
    "team": "team",
    "feature": "feature",
    "customer": "customer_id",
    "model": "model",
    "provider": "provider",
    "prompt_version": "prompt_version",
}
GROUPINGS = ("team", "feature", "customer", "model", "provider", "prompt_version", "day", "hour")
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _values(filled: Filled, column: str) -> list[str]:
    return sorted({e[column] for e in filled.events if e[column]})


def _day(e: dict[str, Any]) -> date:
    ts: datetime = e["ts"]
    return ts.date()


def _in_scope(role: str, e: dict[str, Any]) -> bool:
    kind, _, value = role.partition(":")
    if kind == "team":
        return bool(e["team"] == value)
    if kind == "customer":
        return bool(e["customer_id"] == value)
    return True


def expected(
    filled: Filled, role: str, lo: date, hi: date, filters: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        e
        for e in filled.events
        if lo <= _day(e) <= hi
        and _in_scope(role, e)
        and all(e[FILTERS[k]] == v for k, v in filters.items())
    ]


@st.composite
def selections(draw: st.DrawFn, filled: Filled) -> tuple[str, date, date, dict[str, str]]:
    role = draw(st.sampled_from(READERS))
    lo = FIRST + timedelta(days=draw(st.integers(-2, 3)))
    hi = lo + timedelta(days=draw(st.integers(0, 3)))
    filters: dict[str, str] = {}
    for name, column in FILTERS.items():
        if draw(st.integers(0, 3)) == 0:  # each filter in about a quarter of the cases
            filters[name] = draw(st.sampled_from([*_values(filled, column), "nobody"]))
    return role, lo, hi, filters


def test_spend_never_leaves_the_scope(client: Client, filled: Filled) -> None:
    @SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        role, lo, hi, filters = data.draw(selections(filled))
        by = data.draw(st.lists(st.sampled_from(GROUPINGS), max_size=3, unique=True))
        params = {"from": lo.isoformat(), "to": hi.isoformat(), "by": ",".join(by), **filters}
        response = client.get("/api/v1/spend", params=params, headers=filled.headers(role))
        assert response.status_code == 200, response.text
        doc = response.json()
        want = expected(filled, role, lo, hi, filters)
        assert doc["totals"]["calls"] == len(want)
        cost = sum(e["effective_cost_nusd"] or 0 for e in want)
        assert doc["totals"]["effective_cost_usd"] == nusd_to_usd(cost)
        assert sum(r["calls"] for r in doc["rows"]) == len(want)
        kind, _, value = role.partition(":")
        column = {"team": "team", "customer": "customer"}.get(kind)
        for row in doc["rows"]:
            if column is not None and column in row:
                assert row[column] == value
        assert doc["meta"]["scope"] == (role if column else None)

    check()


def test_events_never_leave_the_scope(client: Client, filled: Filled) -> None:
    @SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        role, lo, hi, filters = data.draw(selections(filled))
        limit = data.draw(st.integers(1, 60))
        params: dict[str, Any] = {"from": lo.isoformat(), "to": hi.isoformat(), "limit": limit}
        params.update(filters)
        response = client.get("/api/v1/events", params=params, headers=filled.headers(role))
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        want = sorted(
            expected(filled, role, lo, hi, filters),
            key=lambda e: (e["ts"], e["event_id"]),
            reverse=True,
        )
        assert [r["event_id"] for r in rows] == [e["event_id"] for e in want[:limit]]
        for row in rows:
            assert _in_scope(role, {**row, "ts": None})

    check()


def test_paging_through_every_event_of_a_customer(client: Client, filled: Filled) -> None:
    role = "customer:cust-004"
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params, headers=filled.headers(role)).json()
        seen += [r["event_id"] for r in page["rows"]]
        assert all(r["customer_id"] == "cust-004" for r in page["rows"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    mine = [e for e in filled.events if e["customer_id"] == "cust-004"]
    assert len(seen) == len(set(seen)) == len(mine) > 7
    assert set(seen) == {e["event_id"] for e in mine}


def test_team_tokens_see_only_their_keys_and_rejections(client: Client, filled: Filled) -> None:
    for team in ("support", "sales"):
        headers = filled.headers(f"team:{team}")
        keys = client.get("/api/v1/keys", headers=headers).json()["rows"]
        assert keys and {k["team"] for k in keys} == {team}
        rejections = client.get("/api/v1/rejections", headers=headers).json()["rows"]
        assert rejections and {r["team"] for r in rejections} == {team}
    everything = client.get("/api/v1/rejections", headers=filled.headers("finance")).json()
    assert len(everything["rows"]) == 12


def test_a_filter_for_another_team_returns_nothing(client: Client, filled: Filled) -> None:
    params = {"month": "2026-10", "team": "sales", "by": "team"}
    doc = client.get("/api/v1/spend", params=params, headers=filled.headers("team:support")).json()
    assert doc["rows"] == [] and doc["totals"]["calls"] == 0
    events = client.get(
        "/api/v1/events", params={"team": "sales"}, headers=filled.headers("team:support")
    ).json()
    assert events["rows"] == []


def test_times_are_utc(filled: Filled) -> None:
    assert all(e["ts"].tzinfo in (None, UTC) for e in filled.events)
