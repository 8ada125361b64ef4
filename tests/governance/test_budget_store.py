"""Run-time budgets: validated, stored, audited, refused for config ids, seen by BudgetBook."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.governance.budgets import BudgetError, parse_budgets
from aifinops.governance.store import (
    BudgetBook,
    BudgetConflictError,
    delete_budget,
    load_budgets,
    put_budget,
    stored_budgets,
)
from aifinops.ledger.schema_api import audit_log
from aifinops.ledger.schema_governance import budgets as budgets_table

CONFIG = parse_budgets(
    [
        {"scope": "team", "name": "support", "amount_usd": "1000"},
        {"scope": "org", "amount_usd": "5000", "period": "month"},
    ]
)
SALES = {"scope": "team", "name": "sales", "amount_usd": "250.50", "timezone": "UTC+5"}

#: (what, definition fields, the field the error must name)
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("negative amount", {"amount_usd": "-5"}, "budget.amount_usd"),
    ("zero amount", {"amount_usd": "0"}, "budget.amount_usd"),
    ("unknown scope", {"scope": "planet"}, "budget.scope"),
    ("thresholds out of order", {"thresholds": [75, 50, 90]}, "budget.thresholds"),
    ("threshold out of range", {"thresholds": [50, 2000]}, "budget.thresholds[1]"),
    ("hard limit below last threshold", {"hard_limit_pct": 80}, "budget.hard_limit_pct"),
    ("downgrade without a map", {"action": "downgrade"}, "budget.downgrade"),
    ("bad timezone", {"timezone": "Europe/Paris"}, "budget.timezone"),
    ("half-hour timezone", {"timezone": "UTC+5:30"}, "budget.timezone"),
    ("unknown period", {"period": "fortnight"}, "budget.period"),
    ("unknown action", {"action": "pray"}, "budget.action"),
    ("unknown cost", {"cost": "retail"}, "budget.cost"),
    ("no name", {"name": None}, "budget.name"),
    ("unknown field", {"colour": "red"}, "budget.colour"),
]


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.ts, audit_log.c.audit_id))
        return [dict(r._mapping) for r in rows]


@pytest.mark.parametrize(("what", "fields", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_definitions_are_refused_naming_the_field(
    ledger: Engine, what: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(BudgetError) as caught, ledger.begin() as conn:
        put_budget(conn, {**SALES, **fields}, "cli:test", "cli", config=CONFIG)
    assert caught.value.field == field, what
    assert caught.value.message
    with ledger.connect() as conn:
        assert stored_budgets(conn) == []
    assert audit_rows(ledger) == []


def test_set_list_delete_round_trip_is_audited(ledger: Engine) -> None:
    with ledger.begin() as conn:
        made = put_budget(conn, SALES, "token:abc", "api", config=CONFIG)
    assert made.id == "team:sales" and made.source == "api" and made.tz_hours == 5
    with ledger.connect() as conn:
        budgets = load_budgets(conn, CONFIG)
    assert [b.id for b in budgets] == ["team:support", "org", "team:sales"]
    assert budgets[2] == made
    # the stored definition is as_dict without source
    with ledger.connect() as conn:
        row = conn.execute(select(budgets_table)).one()
    assert row.definition == {k: v for k, v in made.as_dict().items() if k != "source"}
    assert row.updated_by == "token:abc"

    with ledger.begin() as conn:
        changed = put_budget(
            conn, {**SALES, "amount_usd": "300", "action": "block"}, "cli:me", "cli", config=CONFIG
        )
    with ledger.connect() as conn:
        (again,) = stored_budgets(conn)
    assert again == changed and again.source == "cli" and again.action == "block"

    with ledger.begin() as conn:
        assert delete_budget(conn, "team:sales", "cli:me", "cli", config=CONFIG)
    with ledger.begin() as conn:
        assert not delete_budget(conn, "team:sales", "cli:me", "cli", config=CONFIG)
    with ledger.connect() as conn:
        assert stored_budgets(conn) == []

    entries = audit_rows(ledger)
    assert [(e["action"], e["actor"], e["via"], e["target"]) for e in entries] == [
        ("budgets.put", "token:abc", "api", "team:sales"),
        ("budgets.put", "cli:me", "cli", "team:sales"),
        ("budgets.delete", "cli:me", "cli", "team:sales"),
    ]
    assert entries[0]["before_state"] is None
    assert entries[0]["after_state"]["amount_usd"] == "250.500000000"
    assert entries[1]["before_state"]["amount_usd"] == "250.500000000"
    assert entries[1]["after_state"]["amount_usd"] == "300.000000000"
    assert entries[2]["before_state"]["action"] == "block" and entries[2]["after_state"] is None


def test_a_listed_definition_can_be_set_again_as_it_is(ledger: Engine) -> None:
    with ledger.begin() as conn:
        made = put_budget(conn, SALES, "cli:me", "cli", config=CONFIG)
        listed = made.as_dict()  # downgrade {}, source, note None …
        again = put_budget(conn, listed, "cli:me", "cli", config=CONFIG)
    assert again == made


def test_config_ids_are_read_only(ledger: Engine) -> None:
    for budget_id, fields in (("team:support", {"name": "support"}), ("org", {"scope": "org"})):
        with pytest.raises(BudgetConflictError, match="config file"), ledger.begin() as conn:
            put_budget(conn, {**SALES, **fields, "id": budget_id}, "cli:me", "cli", config=CONFIG)
        with pytest.raises(BudgetConflictError, match="remove it there"), ledger.begin() as conn:
            delete_budget(conn, budget_id, "cli:me", "cli", config=CONFIG)
    # another id for the same team is a budget of its own
    with ledger.begin() as conn:
        other = put_budget(
            conn,
            {**SALES, "name": "support", "id": "support-weekly", "period": "week"},
            "a",
            "api",
            config=CONFIG,
        )
    assert other.id == "support-weekly"
    assert audit_rows(ledger)[-1]["target"] == "support-weekly"
    assert len(audit_rows(ledger)) == 1


def test_an_id_in_the_file_and_the_database_is_an_error_naming_it(ledger: Engine) -> None:
    with ledger.begin() as conn:
        put_budget(conn, SALES, "cli:me", "cli", config=())
    edited = parse_budgets([{"scope": "team", "name": "sales", "amount_usd": "9"}])
    with pytest.raises(BudgetConflictError, match="'team:sales'"), ledger.connect() as conn:
        load_budgets(conn, edited)
    # at start-up (strict) it is an error; a running BudgetBook keeps the file's entry
    book = BudgetBook(ledger, edited)
    with pytest.raises(BudgetConflictError, match="'team:sales'"):
        book.refresh(strict=True)
    assert book.budgets == edited and book.generation == 0
    assert book.refresh()
    assert [b.amount_nusd for b in book.budgets] == [9 * 10**9]
    assert book.conflicts == ("team:sales",)


def test_budget_book_sees_changes_on_refresh(ledger: Engine) -> None:
    book = BudgetBook(ledger, CONFIG)
    assert book.budgets == CONFIG  # before the first refresh: the file's
    first = book.version
    assert not book.refresh() and book.version == first and book.generation == 0
    with ledger.begin() as conn:
        put_budget(conn, SALES, "cli:me", "cli", config=CONFIG)
    assert book.refresh()
    assert [b.id for b in book.budgets] == ["team:support", "org", "team:sales"]
    assert book.version != first and book.generation == 1
    assert not book.refresh() and book.generation == 1
    # the same budgets give the same version in another process's book
    other = BudgetBook(ledger, CONFIG)
    other.refresh()
    assert other.version == book.version

    covering = book.covering({"team": "sales", "feature": "x", "customer_id": None})
    assert [b.id for b in covering] == ["org", "team:sales"]
    assert [b.id for b in book.covering({"team": "support"})] == ["team:support", "org"]
    assert book.get("team:sales") is not None and book.get("nope") is None

    with ledger.begin() as conn:
        put_budget(conn, {**SALES, "amount_usd": "1"}, "cli:me", "cli", config=CONFIG)
    assert book.refresh() and book.get("team:sales").amount_nusd == 10**9  # type: ignore[union-attr]
    with ledger.begin() as conn:
        delete_budget(conn, "team:sales", "cli:me", "cli", config=CONFIG)
    assert book.refresh() and book.budgets == CONFIG and book.version == first
