"""The gate's intervals against published worked examples."""

from __future__ import annotations

import math

import pytest

from aifinops.gate import stats


def test_wilson_interval_matches_newcombe_1998_table_i() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, 81/263: 0.2553 to 0.3662.
    interval = stats.wilson(81, 263, 0.95)
    assert interval.low == pytest.approx(0.2553, abs=5e-5)
    assert interval.high == pytest.approx(0.3662, abs=5e-5)


def test_newcombe_difference_matches_the_papers_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 - 48/80,
    # method 10: +0.0524 to +0.3339.
    interval = stats.newcombe_difference(48, 80, 56, 70, 0.95)
    assert interval.low == pytest.approx(0.0524, abs=5e-5)
    assert interval.high == pytest.approx(0.3339, abs=5e-5)


def test_newcombe_stays_inside_minus_one_to_one_at_the_extremes() -> None:
    interval = stats.newcombe_difference(0, 30, 30, 30, 0.95)
    assert 0 < interval.low < interval.high <= 1


def test_welch_difference_of_means() -> None:
    a = [1.0, 2.0, 3.0, 4.0]
    b = [2.0, 4.0, 6.0, 8.0]
    se = math.sqrt(stats.variance(a) / 4 + stats.variance(b) / 4)
    interval = stats.welch_difference(a, b, 0.95)
    assert interval.low == pytest.approx(2.5 - 1.959964 * se, rel=1e-6)
    assert interval.high == pytest.approx(2.5 + 1.959964 * se, rel=1e-6)


def test_quantile_interpolates_like_numpy() -> None:
    assert stats.quantile([1, 2, 3, 4], 0.5) == 2.5
    assert stats.quantile([10, 20, 30, 40, 50], 0.95) == pytest.approx(48.0)


def test_log_ratio_variance_of_a_ratio_of_means() -> None:
    costs = [2.0, 2.0, 2.0, 2.0]
    wins = [1.0, 0.0, 1.0, 0.0]
    # var(cost) = 0, var(wins) = 1/3, mean(wins) = 1/2: (1/3) / (4 * 1/4) = 1/3.
    assert stats.log_ratio_variance(costs, wins) == pytest.approx(1 / 3)
    assert stats.log_ratio_variance([0.0, 0.0]) is None
