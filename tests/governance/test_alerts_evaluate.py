"""Alert evaluation: each threshold, hard limit, projection and anomaly is recorded once
per period — across restarts and concurrent evaluators — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy.engine import Engine

from aifinops.governance.alerts import Alert, evaluate_alerts, forecast_nusd
from aifinops.governance.anomaly import judge, median
from aifinops.governance.budgets import Budget
from aifinops.ledger.db import open_ledger
from tests.governance.alert_helpers import USD, budget, keys, rows, settings, spend, utc

SALES = "team:sales"


def evaluate(url: str, schema: str | None, budgets: list[Budget], at: datetime) -> list[Alert]:
    """One evaluation as a fresh process would make it: new engine, new objects."""
    engine = open_ledger(url, search_path=schema)
    try:
        with engine.begin() as conn:
            return evaluate_alerts(conn, budgets, at, settings(budgets))
    finally:
        engine.dispose()


def test_each_threshold_fires_once_across_restarts(
    ledger: Engine, ledger_url: tuple[str, str | None]
) -> None:
    url, schema = ledger_url
    at = utc("2026-11-03T12:00:00")  # 8 % of November: too early for a forecast
    spend(ledger, "2026-11-03T10:00:00", "60")
    assert keys(evaluate(url, schema, [budget()], at)) == [(SALES, "threshold", 50)]
    assert evaluate(url, schema, [budget()], at) == []  # restarted: nothing again

    spend(ledger, "2026-11-03T11:00:00", "20")  # 80
    assert keys(evaluate(url, schema, [budget()], at)) == [(SALES, "threshold", 75)]
    assert evaluate(url, schema, [budget()], at + timedelta(minutes=1)) == []

    spend(ledger, "2026-11-03T11:30:00", "35")  # 115: past 90 % and the 110 % hard limit
    fired = evaluate(url, schema, [budget()], at)
    assert keys(fired) == [(SALES, "hard_limit", 110), (SALES, "threshold", 90)]
    hard = next(a for a in fired if a.kind == "hard_limit")
    assert hard.spend_nusd == 115 * USD and hard.limit_nusd == 110 * USD
    assert hard.details["pct_of_budget"] == "115.0"
    assert hard.details["action"] == "throttle"
    for later in (at, at + timedelta(days=5)):
        assert evaluate(url, schema, [budget()], later) == []

    # the next period starts afresh, at its boundary
    spend(ledger, "2026-12-01T00:00:00", "55")
    december = evaluate(url, schema, [budget()], utc("2026-12-01T00:30:00"))
    assert keys(december) == [(SALES, "threshold", 50)]
    assert december[0].period_start == datetime(2026, 12, 1, tzinfo=UTC)
    assert december[0].spend_nusd == 55 * USD

    stored = rows(ledger)
    assert len(stored) == 5
    assert len({(a.subject, a.period_start, a.kind, a.level) for a in stored}) == 5
    assert {a.status for a in stored} == {"no_channel"}  # no channel configured


def test_concurrent_evaluators_insert_each_alert_once(
    ledger: Engine, ledger_url: tuple[str, str | None]
) -> None:
    url, schema = ledger_url
    spend(ledger, "2026-11-10T09:00:00", "95")
    budgets = [
        budget(),
        budget(scope="feature", name="lead-qualification", amount_usd="50", hard_limit_pct=120),
    ]
    at = utc("2026-11-10T10:00:00")
    engines = [open_ledger(url, search_path=schema) for _ in range(4)]
    start = threading.Barrier(len(engines))
    found: list[list[Alert]] = [[] for _ in engines]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait(10)
            with engines[i].begin() as conn:
                found[i] = evaluate_alerts(conn, budgets, at, settings(budgets))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    every = [a for batch in found for a in batch]
    expected = [
        ("feature:lead-qualification", "hard_limit", 120),
        ("feature:lead-qualification", "threshold", 50),
        ("feature:lead-qualification", "threshold", 75),
        ("feature:lead-qualification", "threshold", 90),
        (SALES, "projected", 110),  # 95 USD in a third of the month: 303 USD by its end
        (SALES, "threshold", 50),
        (SALES, "threshold", 75),
        (SALES, "threshold", 90),
    ]
    assert keys(every) == expected  # each alert returned to exactly one evaluator
    assert keys(rows(ledger)) == expected
    feature_alert = next(a for a in every if a.subject.startswith("feature:"))
    assert feature_alert.details["team"] == "sales"  # the feature's owning team hears it


def test_forecast_is_the_linear_run_rate_after_ten_percent() -> None:
    start, end = utc("2026-11-01T00:00:00"), utc("2026-12-01T00:00:00")
    assert forecast_nusd(45 * USD, start, end, utc("2026-11-11T00:00:00")) == 135 * USD
    assert forecast_nusd(45 * USD, start, end, utc("2026-11-03T23:59:59")) is None  # < 10 %
    assert forecast_nusd(45 * USD, start, end, utc("2026-11-04T00:00:00")) == 450 * USD
    assert forecast_nusd(45 * USD, start, end, utc("2026-12-05T00:00:00")) == 45 * USD


def test_projected_to_exceed_fires_once_before_the_hard_limit(
    ledger: Engine, ledger_url: tuple[str, str | None]
) -> None:
    url, schema = ledger_url
    spend(ledger, "2026-11-01T10:00:00", "20")
    # 20 USD after 1.5 days would forecast 400 USD, but 5 % of the month is too early
    assert evaluate(url, schema, [budget()], utc("2026-11-02T12:00:00")) == []

    spend(ledger, "2026-11-08T10:00:00", "25")  # 45 USD after a third of the month
    fired = evaluate(url, schema, [budget()], utc("2026-11-11T00:00:00"))
    assert keys(fired) == [(SALES, "projected", 110)]
    projected = fired[0]
    assert projected.spend_nusd == 135 * USD  # the forecast: 45 ÷ (10/30)
    assert projected.limit_nusd == 110 * USD
    assert projected.details["projected_usd"] == "135.000000000"
    assert projected.details["spend_usd"] == "45.000000000"
    assert projected.details["projected_pct"] == "135.0"
    assert evaluate(url, schema, [budget()], utc("2026-11-12T00:00:00")) == []  # once

    # a budget whose forecast stays under its hard limit gets none
    calm = budget(id="calm", amount_usd="200")
    assert evaluate(url, schema, [calm], utc("2026-11-11T00:00:00")) == []

    # at the hard limit itself, it is a hard_limit alert, not a projection
    late = budget(id="late", amount_usd="40", thresholds=[])
    fired = evaluate(url, schema, [late], utc("2026-11-11T00:00:00"))
    assert keys(fired) == [("late", "hard_limit", 110)]


def _series(engine: Engine, day: date, team: str, feature: str, amounts: list[str]) -> None:
    """One call a day for len(amounts) days ending the day before ``day``."""
    for back, usd in zip(range(len(amounts), 0, -1), amounts, strict=True):
        when = day - timedelta(days=back)
        spend(engine, f"{when.isoformat()}T10:00:00", usd, team=team, feature=feature)


def test_anomalies_per_team_and_feature(ledger: Engine, ledger_url: tuple[str, str | None]) -> None:
    url, schema = ledger_url
    day = date(2026, 11, 20)
    _series(ledger, day, "ml", "bot", [str(10 + i % 3) for i in range(14)])
    _series(ledger, day, "ml", "spiky", ["5"] * 14)
    _series(ledger, day, "steady", "search", [str(20 + i % 2) for i in range(14)])
    _series(ledger, day, "new", "fresh", ["2"] * 3)  # 3 days of history: no baseline yet
    _series(ledger, day, "tiny", "pennies", ["0.10"] * 14)
    for team, feature, usd in (
        ("ml", "bot", "10"),
        ("ml", "spiky", "45"),  # 9 × its usual day
        ("steady", "search", "21"),
        ("new", "fresh", "40"),
        ("tiny", "pennies", "1.00"),  # 10 × its usual day, but 0.90 USD is below the floor
    ):
        spend(ledger, f"{day.isoformat()}T15:00:00", usd, team=team, feature=feature)

    fired = evaluate(url, schema, [], utc("2026-11-21T00:30:00"))
    assert keys(fired) == [("feature:spiky", "anomaly", 0), ("team:ml", "anomaly", 0)]
    team = next(a for a in fired if a.subject == "team:ml")
    assert team.period_start == datetime(2026, 11, 20, tzinfo=UTC)
    assert team.spend_nusd == 55 * USD
    assert team.details["baseline_median_usd"] == "16.000000000"
    assert team.details["day"] == "2026-11-20"
    assert team.details["team"] == "ml"
    assert [f["feature"] for f in team.details["top_features"]] == ["spiky", "bot"]
    assert team.details["dashboard_url"] == "http://127.0.0.1:8787/?team=ml&day=2026-11-20"
    feature = next(a for a in fired if a.subject == "feature:spiky")
    assert feature.details["times_median"] == 9.0
    assert feature.limit_nusd == 10 * USD  # max(median + 4·1.4826·0, 2 × 5, 5 + 5)
    # once per day: later runs that day, and the next day (no spend), raise nothing
    assert evaluate(url, schema, [], utc("2026-11-21T18:00:00")) == []
    assert evaluate(url, schema, [], utc("2026-11-22T00:30:00")) == []


def test_anomaly_rule() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == Fraction(5, 2)
    usual = [10 * USD] * 13 + [12 * USD]
    floor = 5 * USD
    day = date(2026, 11, 20)
    assert judge("team", "t", day, 25 * USD, usual, floor) is not None
    assert judge("team", "t", day, 19 * USD, usual, floor) is None  # under 2 × median
    assert judge("team", "t", day, 25 * USD, usual[:6] + [0] * 8, floor) is None  # 6 days
    noisy = [v * USD for v in (2, 30, 4, 28, 3, 31, 5, 27, 2, 29, 4, 30, 3, 28)]
    assert judge("team", "t", day, 40 * USD, noisy, floor) is None  # within its spread
    assert judge("team", "t", day, 200 * USD, noisy, floor) is not None


@pytest.mark.parametrize("tz", ["UTC", "UTC+5"])
def test_threshold_alerts_follow_the_budgets_own_period(
    ledger: Engine, ledger_url: tuple[str, str | None], tz: str
) -> None:
    url, schema = ledger_url
    spend(ledger, "2026-11-30T20:00:00", "60")  # December 1st, 01:00 in UTC+5
    b = budget(timezone=tz)
    fired = evaluate(url, schema, [b], utc("2026-11-30T21:00:00"))
    assert keys(fired) == [(SALES, "threshold", 50)]
    expected = datetime(2026, 11, 1, tzinfo=UTC) if tz == "UTC" else utc("2026-11-30T19:00:00")
    assert fired[0].period_start == expected
