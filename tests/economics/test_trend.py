"""The Mann-Kendall test and Theil-Sen slope against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from aifinops.economics.trend import MIN_DAYS, mann_kendall


def test_a_strictly_rising_series() -> None:
    values = [float(v) for v in range(1, 11)]
    trend = mann_kendall(list(range(10)), values)
    # S = 45, Var(S) = 10·9·25/18 = 125, Z = (45 − 1)/√125
    z = 44 / math.sqrt(125)
    assert trend.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert trend.direction == "rising" and trend.slope_per_day == pytest.approx(1.0)


def test_ties_lower_the_variance() -> None:
    values = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    trend = mann_kendall(list(range(8)), values)
    # S = 24 (4 tied pairs score 0); Var = (8·7·21 − 4·(2·1·9))/18 = 61.333…
    z = 23 / math.sqrt((8 * 7 * 21 - 4 * 18) / 18)
    assert trend.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert trend.direction == "rising"


def test_noise_and_one_outlier_make_no_trend() -> None:
    values = [5.0, 5.2, 4.9, 5.1, 5.0, 50.0, 5.1, 4.8, 5.2, 4.9, 5.0, 5.1]
    assert mann_kendall(list(range(12)), values).direction == "flat"


def test_gaps_in_days_are_respected_by_the_slope() -> None:
    days = [0, 2, 4, 6, 8, 10, 12, 14]
    trend = mann_kendall(days, [float(d) for d in days])
    assert trend.slope_per_day == pytest.approx(1.0)


def test_falling_and_too_short() -> None:
    assert mann_kendall(list(range(10)), [10.0 - i for i in range(10)]).direction == "falling"
    short = mann_kendall(list(range(MIN_DAYS - 1)), [float(i) for i in range(MIN_DAYS - 1)])
    assert short.direction == "insufficient_data" and short.p_value is None
    flat = mann_kendall(list(range(10)), [3.0] * 10)
    assert flat.direction == "flat"
