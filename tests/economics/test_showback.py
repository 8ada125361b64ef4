"""Showback: allocation adds up exactly; statements stay inside their customer; forget."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.api.roles import Role
from aifinops.api.tokens import create_token
from aifinops.economics.forget import forget_customer
from aifinops.economics.settings import ShowbackSettings
from aifinops.economics.showback import customers_document, largest_remainder, statement_document
from aifinops.ledger.queries import SpendQuery, spend
from aifinops.ledger.schema import rollup_daily, rollup_hourly, usage_events
from aifinops.ledger.schema_api import api_tokens
from aifinops.ledger.schema_economics import outcome_daily, outcomes, unit_rollup
from aifinops.money import usd_to_nusd
from tests.economics.helpers import USD, call, outcome, write_calls, write_outcome_records

NOV = (date(2026, 11, 1), date(2026, 11, 30))


def d(day: int) -> date:
    return date(2026, 11, day)


def fill(engine: Engine) -> None:
    write_calls(
        engine,
        [
            call(d(2), 3 * USD, customer="acme", unit="a1"),
            call(d(2), 1 * USD, customer="beta", unit="b1", feature="search"),
            call(d(3), 2 * USD, customer="gamma", unit="c1"),
            call(d(3), 1 * USD + 1, customer=None, feature="internal"),  # shared
            call(d(4), 1 * USD, customer=None, feature=None),  # untagged
        ],
    )
    write_outcome_records(
        engine,
        [
            outcome("oa", "a1", d(2), True, customer="acme"),
            outcome("ob", "b1", d(2), False, customer="beta", feature="search"),
            outcome("oc", "c1", d(3), True, customer="gamma"),
        ],
    )


def nusd(text: str) -> int:
    return usd_to_nusd(text)


def test_proportional_allocation_adds_up_to_the_total(ledger: Engine) -> None:
    fill(ledger)
    with ledger.connect() as conn:
        doc = customers_document(conn, *NOV, ShowbackSettings())
    rows = {r["customer_id"]: r for r in doc["rows"]}
    shared = 2 * USD + 1
    assert doc["totals"]["shared_spend_usd"] == "2.000000001"
    allocated = {c: nusd(r["allocated_spend_usd"]) for c, r in rows.items()}
    assert sum(allocated.values()) == shared
    assert allocated["acme"] in (shared * 3 // 6, shared * 3 // 6 + 1)  # 3 of 6 attributed
    total = sum(nusd(r["total_spend_usd"]) for r in rows.values())
    assert total == nusd(doc["totals"]["total_spend_usd"]) == 8 * USD + 1
    assert doc["totals"]["unallocated_spend_usd"] == "0.000000000"
    assert all(r["direct_spend_usd"] != r["total_spend_usd"] for r in rows.values())


def test_fixed_split_and_none(ledger: Engine) -> None:
    fill(ledger)
    fixed = ShowbackSettings("fixed", (("acme", Fraction(1, 4)), ("zeta", Fraction(3, 4))))
    none = ShowbackSettings("none")
    with ledger.connect() as conn:
        by_fixed = customers_document(conn, *NOV, fixed)
        by_none = customers_document(conn, *NOV, none)
    rows = {r["customer_id"]: r for r in by_fixed["rows"]}
    assert rows["zeta"]["direct_spend_usd"] == "0.000000000"
    assert nusd(rows["acme"]["allocated_spend_usd"]) + nusd(
        rows["zeta"]["allocated_spend_usd"]
    ) == (2 * USD + 1)
    assert by_none["totals"]["allocated_spend_usd"] == "0.000000000"
    assert by_none["totals"]["unallocated_spend_usd"] == "2.000000001"
    assert sum(nusd(r["total_spend_usd"]) for r in by_none["rows"]) + 2 * USD + 1 == 8 * USD + 1


def test_markup_is_applied_to_direct_plus_allocated(ledger: Engine) -> None:
    fill(ledger)
    rule = ShowbackSettings("none", (), Decimal("10"))
    with ledger.connect() as conn:
        doc = statement_document(conn, "acme", *NOV, rule)
    assert doc["totals"]["total_spend_usd"] == "3.000000000"
    assert doc["totals"]["charge_usd"] == "3.300000000"


@given(
    st.integers(min_value=0, max_value=10**15),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=30),
)
def test_largest_remainder_always_adds_up(amount: int, raw: list[int]) -> None:
    total = sum(raw)
    weights = {f"c{i}": Fraction(w, total) for i, w in enumerate(raw)}
    parts = largest_remainder(amount, weights)
    assert sum(parts.values()) == amount
    assert all(abs(parts[k] - amount * weights[k]) < 1 for k in weights)


def test_a_statement_never_holds_another_customers_rows(ledger: Engine) -> None:
    fill(ledger)
    with ledger.connect() as conn:
        doc = statement_document(conn, "beta", *NOV, ShowbackSettings())
    assert {r["customer_id"] for r in doc["rows"]} == {"beta"}
    assert [r["feature"] for r in doc["rows"]] == ["search"]
    assert doc["totals"]["direct_spend_usd"] == "1.000000000"
    assert doc["totals"]["outcomes"] == 1 and doc["totals"]["successes"] == 0
    assert doc["totals"]["cost_per_successful_outcome_usd"] is None
    assert "acme" not in str(doc) and "gamma" not in str(doc)


def test_forget_removes_the_id_and_keeps_every_total(ledger: Engine) -> None:
    fill(ledger)
    with ledger.begin() as conn:
        create_token(conn, Role.parse("customer:acme"), "acme portal")
    with ledger.connect() as conn:
        before = spend(conn, SpendQuery(*NOV, by=("day", "feature"))).rows
    with ledger.begin() as conn:
        result = forget_customer(conn, "acme")
    assert result.tombstone.startswith("forgotten-") and result.tokens_revoked == 1
    assert result.rows["usage_events"] == 1 and result.rows["outcomes"] == 1
    with ledger.connect() as conn:
        assert spend(conn, SpendQuery(*NOV, by=("day", "feature"))).rows == before
        for table in (
            usage_events,
            rollup_hourly,
            rollup_daily,
            outcomes,
            outcome_daily,
            unit_rollup,
        ):
            ids = {r[0] for r in conn.execute(select(table.c.customer_id))}
            assert "acme" not in ids and result.tombstone in ids
        role, revoked = conn.execute(select(api_tokens.c.role, api_tokens.c.revoked_at)).one()
    assert "acme" not in role and revoked is not None
