"""The review's figures: run rate over the covered days, capped growth, the proposed
budget rounded up to 3 significant figures; spend against budget on hand-built data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.engine import Engine

from aifinops.economics.settings import EconomicsSettings
from aifinops.governance.review import (
    Month,
    covered_days,
    growth,
    proposal,
    review_document,
    three_figures,
)
from tests.governance.alert_helpers import USD, budget, spend, utc

NOVEMBER = Month(date(2026, 11, 1), date(2026, 11, 30))


def test_three_significant_figures_rounded_up() -> None:
    assert three_figures(Fraction(24612 * USD, 100)) == Decimal("247")
    assert three_figures(Fraction(4137 * USD, 1000)) == Decimal("4.14")
    assert three_figures(Fraction(12345 * USD)) == Decimal("12400")
    assert three_figures(Fraction(400 * USD)) == Decimal("400")
    assert three_figures(Fraction(0)) == Decimal(0)


def test_growth_is_capped() -> None:
    assert growth(Fraction(12), Fraction(10)) == Fraction(1, 5)
    assert growth(Fraction(30), Fraction(10)) == Fraction(1, 2)  # capped at +50 %
    assert growth(Fraction(1), Fraction(10)) == Fraction(-1, 4)  # capped at -25 %
    assert growth(Fraction(10), None) == 0  # no last month: no trend
    assert growth(None, Fraction(10)) == 0


def test_proposal() -> None:
    # 10 USD a day, up 20 % on last month: 10 × 1.2 × 31 days × 1.10 = 409.2 → 410
    g, amount = proposal(Fraction(10 * USD), Fraction(25 * USD, 3), 31)
    assert g == Fraction(1, 5) and amount == Decimal("410")
    assert proposal(None, Fraction(10 * USD), 31) == (0, None)


def test_covered_days() -> None:
    assert covered_days(NOVEMBER, date(2026, 10, 29), utc("2026-12-05T00:00:00")) == 30
    assert covered_days(NOVEMBER, date(2026, 11, 11), utc("2026-12-05T00:00:00")) == 20
    assert covered_days(NOVEMBER, date(2026, 10, 1), utc("2026-11-15T12:00:00")) == Fraction(29, 2)
    assert covered_days(NOVEMBER, None, utc("2026-12-05T00:00:00")) == 0
    assert covered_days(NOVEMBER, date(2026, 12, 3), utc("2026-12-05T00:00:00")) == 0


def test_team_rows_on_hand_built_months(ledger: Engine) -> None:
    for day in range(1, 32):  # October: 3 USD a day
        spend(ledger, f"2026-10-{day:02d}T12:00:00", "3")
    for day in range(1, 31):  # November: 3.6 USD a day (+20 %)
        spend(ledger, f"2026-11-{day:02d}T12:00:00", "3.6")
    spend(ledger, "2026-11-30T20:00:00", "50", team="ops", feature="batch")  # 1 Dec in UTC+5
    budgets = [budget(amount_usd="120"), budget(name="ops", amount_usd="100", timezone="UTC+5")]
    with ledger.connect() as conn:
        doc = review_document(
            conn,
            NOVEMBER,
            budgets=budgets,
            economics=EconomicsSettings(),
            now=utc("2026-12-10T00:00:00"),
        )
    rows = {r["team"]: r for r in doc["rows"]}
    sales = rows["sales"]
    assert sales["spend_usd"] == "108.000000000" and sales["previous_usd"] == "93.000000000"
    assert sales["pct_of_budget"] == "90.0"
    assert sales["per_day_usd"] == "3.600000000"
    assert sales["change_pct"] == "20.0" and sales["growth_pct"] == "20.0"
    # 3.6 × 1.2 × 31 × 1.1 = 147.312 → 148
    assert sales["proposed_budget_usd"] == "148.00"
    ops = rows["ops"]
    assert ops["spend_usd"] == "50.000000000"  # in the UTC month
    assert ops["pct_of_budget"] == "0.0"  # but in December of the budget's own zone
    assert doc["totals"]["spend_usd"] == "158.000000000"
    assert doc["totals"]["budget_usd"] == "220.000000000"
    moved = doc["features_moved"]
    assert [m["feature"] for m in moved] == ["batch", "lead-qualification"]
    assert moved[1]["change_pct"] == "20.0"
    assert moved[0]["change_pct"] is None  # nothing last month
