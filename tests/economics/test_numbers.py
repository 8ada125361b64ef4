"""Exact unit economics on a small hand-built month, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from aifinops.economics.document import economics_document
from aifinops.economics.numbers import EconomicsQuery, compute, ratio_status
from aifinops.economics.settings import EconomicsSettings, FeatureEconomics
from aifinops.ledger.queries import Scope
from aifinops.ledger.schema_economics import unit_rollup
from tests.economics.helpers import USD, call, outcome, write_calls, write_outcome_records

NOV = (date(2026, 11, 1), date(2026, 11, 30))
SETTINGS = EconomicsSettings(
    features=(
        FeatureEconomics("bot", team="support", outcome_type="resolution", human_cost_nusd=2 * USD),
        FeatureEconomics("leads", team="sales", value_per_outcome_nusd=40 * USD),
        FeatureEconomics("edge", team="support", human_cost_nusd=2 * USD),
        FeatureEconomics("red", team="support", human_cost_nusd=2 * USD),
        FeatureEconomics("dud", team="support", human_cost_nusd=2 * USD),
    )
)


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


def report(
    engine: Engine,
    *,
    by: tuple[str, ...] = ("feature",),
    scope: Scope | None = None,
    period: tuple[date, date] = NOV,
) -> dict[str, Any]:
    query = EconomicsQuery(period[0], period[1], by)
    with engine.connect() as conn:
        result = compute(conn, query, scope or Scope())
    return economics_document(result, SETTINGS)


def rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["feature"]: r for r in doc["rows"]}


def build_month(engine: Engine) -> None:
    write_calls(
        engine,
        [
            call(d(3), 10 * USD // 100, unit="u1"),
            call(d(3), 20 * USD // 100, unit="u1", hour=14),
            call(d(4), 30 * USD // 100, unit="u2"),
            call(d(5), 30 * USD // 100, unit="u3", version="v2"),
            call(d(6), 15 * USD // 100, unit="u4"),
            call(d(6), 15 * USD // 100),  # no unit of work
            call(d(10), 1 * USD, feature="leads", team="sales", customer="beta", unit="l1"),
            call(d(11), 1 * USD, feature="leads", team="sales", customer="beta", unit="l2"),
            call(d(12), 150 * USD // 100, feature="edge", unit="e1"),
            call(d(12), 3 * USD + 3, feature="red", unit="r1"),
            call(d(13), 50 * USD // 100, feature="dud", unit="x1"),
            call(d(13), 10 * USD // 100, feature="quiet", unit="q1"),
        ],
    )
    write_outcome_records(
        engine,
        [
            outcome("o1", "u1", d(3), True, quality=0.9),
            outcome("o2", "u2", d(4), False, quality=0.5),
            outcome("o3", "u3", d(5), True, quality=0.7),
            outcome("l1", "l1", d(10), True, feature="leads", customer="beta", value="40.00"),
            outcome("l2", "l2", d(11), False, feature="leads", customer="beta", value="0.00"),
            *(outcome(f"e{i}", "e1", d(12), True, feature="edge") for i in range(3)),
            *(outcome(f"r{i}", "r1", d(12), True, feature="red") for i in range(3)),
            outcome("x1", "x1", d(13), False, feature="dud"),
            outcome("x2", "x1", d(13), False, feature="dud"),
        ],
    )


def test_exact_figures_of_a_hand_built_month(ledger: Engine) -> None:
    build_month(ledger)
    doc = report(ledger)
    bot = rows(doc)["bot"]
    assert bot["spend_usd"] == "1.200000000"
    assert (bot["calls"], bot["outcomes"], bot["successes"]) == (6, 3, 2)
    assert bot["cost_per_outcome_usd"] == "0.400000000"
    assert bot["cost_per_successful_outcome_usd"] == "0.600000000"  # failed spend counts
    assert bot["human_cost_ratio"] == 0.3
    assert bot["status"] == "watch"
    assert bot["success_rate"] == round(2 / 3, 4)
    assert bot["mean_quality"] == 0.7
    assert (bot["open_units"], bot["open_unit_spend_usd"]) == (1, "0.150000000")
    assert bot["recommendation"] == "fix the cost"
    assert "team" not in bot and bot["outcome_type"] == "resolution"

    leads = rows(doc)["leads"]
    assert leads["value_usd"] == "40.000000000"
    assert leads["value_share"] == 0.05
    assert leads["yardstick"] == "value" and leads["human_cost_ratio"] == 0.05
    assert leads["status"] == "healthy" and leads["recommendation"] == "keep"

    total = doc["totals"]
    assert total["spend_usd"] == "8.300000003"
    assert total["outcomes"] == 3 + 2 + 3 + 3 + 2
    assert total["successes"] == 2 + 1 + 3 + 3


def test_status_at_and_around_both_edges(ledger: Engine) -> None:
    build_month(ledger)
    by_feature = rows(report(ledger))
    assert by_feature["edge"]["human_cost_ratio"] == 0.25
    assert by_feature["edge"]["status"] == "watch"  # exactly at the target: watch
    assert by_feature["red"]["status"] == "review"  # 3 nano-USD above the red line
    feature = SETTINGS.features[0]
    assert ratio_status(Fraction(1, 4) - Fraction(1, 10**12), feature) == "healthy"
    assert ratio_status(Fraction(1, 4), feature) == "watch"
    assert ratio_status(Fraction(1, 2), feature) == "watch"
    assert ratio_status(Fraction(1, 2) + Fraction(1, 10**12), feature) == "review"


def test_zero_successes_and_no_outcomes_never_divide_by_zero(ledger: Engine) -> None:
    build_month(ledger)
    by_feature = rows(report(ledger))
    dud = by_feature["dud"]
    assert (dud["outcomes"], dud["successes"]) == (2, 0)
    assert dud["cost_per_successful_outcome_usd"] is None
    assert dud["note"] == "no successful outcome"
    assert dud["status"] == "review" and dud["recommendation"] == "kill"
    quiet = by_feature["quiet"]
    assert quiet["spend_usd"] == "0.100000000" and quiet["outcomes"] == 0
    assert quiet["status"] is None  # no settings for this feature
    assert quiet["recommendation"] == "check evals"
    assert (quiet["open_units"], quiet["open_unit_spend_usd"]) == (1, "0.100000000")


def test_duplicated_outcome_ids_count_once(ledger: Engine) -> None:
    build_month(ledger)
    before = report(ledger)["totals"]
    again = [outcome("o1", "u1", d(3), True, quality=0.9), outcome("o3", "u3", d(5), True)]
    assert write_outcome_records(ledger, again + again) == 0
    assert report(ledger)["totals"] == before
    with ledger.connect() as conn:
        count = conn.execute(select(unit_rollup.c.outcomes).where(unit_rollup.c.unit_id == "u1"))
        assert count.scalar() == 1


def test_late_outcome_counts_in_its_own_period_and_closes_the_unit(ledger: Engine) -> None:
    write_calls(ledger, [call(d(30), 40 * USD // 100, unit="late")])
    nov = rows(report(ledger))["bot"]
    assert (nov["open_units"], nov["outcomes"]) == (1, 0)
    write_outcome_records(ledger, [outcome("late-o", "late", d(1, 12), True)])
    nov = rows(report(ledger))["bot"]
    assert (nov["open_units"], nov["outcomes"], nov["spend_usd"]) == (0, 0, "0.400000000")
    dec = rows(report(ledger, period=(d(1, 12), d(31, 12))))["bot"]
    assert (dec["successes"], dec["spend_usd"]) == (1, "0.000000000")


def test_outcome_before_its_calls_is_joined_when_they_arrive(ledger: Engine) -> None:
    teams = {"bot": "support"}
    write_outcome_records(ledger, [outcome("early", "u9", d(2), True)], teams)
    write_calls(ledger, [call(d(2), USD, unit="u9")])
    bot = rows(report(ledger))["bot"]
    assert (bot["open_units"], bot["successes"], bot["cost_per_successful_outcome_usd"]) == (
        0,
        1,
        "1.000000000",
    )
    by_team = report(ledger, by=("feature", "team"))["rows"]
    assert [(r["team"], r["successes"]) for r in by_team] == [("support", 1)]


def test_grouping_by_prompt_version_and_team_scope(ledger: Engine) -> None:
    build_month(ledger)
    versions = {
        (r["feature"], r["prompt_version"]): r
        for r in report(ledger, by=("feature", "prompt_version"))["rows"]
    }
    assert versions[("bot", "v2")]["spend_usd"] == "0.300000000"
    assert versions[("bot", "v2")]["successes"] == 1
    assert versions[("bot", "v1")]["successes"] == 1
    sales = report(ledger, scope=Scope(team="sales"))
    assert [r["feature"] for r in sales["rows"]] == ["leads"]
    beta = report(ledger, scope=Scope(customer_id="beta"))
    assert {r["feature"] for r in beta["rows"]} == {"leads"}
    assert beta["totals"]["spend_usd"] == "2.000000000"


def test_reprice_moves_the_unit_rollup(ledger: Engine) -> None:
    from aifinops.ledger.reprice import reprice
    from aifinops.pricing import PricingEngine, RateBook

    write_calls(ledger, [call(d(3), 1, unit="rp", input_tokens=1_000_000)])
    rates = RateBook.parse([{"provider": "anthropic", "model": "claude-*", "discount_pct": 50}])
    reprice(ledger, PricingEngine(rates=rates), d(3), d(3))
    with ledger.connect() as conn:
        cost = conn.execute(
            select(unit_rollup.c.effective_cost_nusd).where(unit_rollup.c.unit_id == "rp")
        ).scalar()
    assert cost == 3 * USD  # 1M input tokens: the >200k tier, $6 per million, half off


def test_trend_rising_flat_and_too_short(ledger: Engine) -> None:
    calls = []
    outcomes = []
    for i in range(1, 31):
        calls.append(call(d(i), (100 + 10 * i) * USD // 1000, feature="grow", unit=f"g{i}"))
        outcomes.append(
            outcome(f"g{i}", f"g{i}", d(i), True, feature="grow", quality=round(0.95 - i / 100, 2))
        )
        calls.append(call(d(i), USD // 10, feature="steady", unit=f"s{i}"))
        outcomes.append(outcome(f"s{i}", f"s{i}", d(i), True, feature="steady"))
    for i in range(1, 6):
        calls.append(call(d(i), i * USD, feature="short", unit=f"t{i}"))
        outcomes.append(outcome(f"t{i}", f"t{i}", d(i), True, feature="short"))
    write_calls(ledger, calls)
    write_outcome_records(ledger, outcomes)
    by_feature = rows(report(ledger))
    grow = by_feature["grow"]
    assert grow["trend"] == "rising" and grow["trend_p_value"] < 0.001
    assert grow["trend_slope_usd_per_day"] == pytest.approx(0.01)
    assert grow["quality_trend"] == "falling"
    assert grow["recommendation"] == "check evals"
    assert by_feature["steady"]["trend"] == "flat"
    assert by_feature["short"]["trend"] == "insufficient_data"
    assert by_feature["short"]["trend_days"] == 5


def test_decimal_settings_are_exact() -> None:
    feature = FeatureEconomics("x", human_cost_nusd=3 * USD, target_ratio=Decimal("0.1"))
    assert ratio_status(Fraction(1, 10), feature) == "watch"
    assert ratio_status(Fraction(1, 10) - Fraction(1, 10**15), feature) == "healthy"
