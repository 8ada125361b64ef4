"""The small statistics of the gate: means, quantiles and 95 % intervals.

Methods (named in every gate document):
- difference of two means: Welch's unequal-variance interval with a normal quantile
  (samples are at least ``min_sample`` per side, 30 by default);
- difference of two proportions: Newcombe's hybrid score interval (method 10), built
  from the two Wilson score intervals, which stays inside [-1, 1] and behaves at 0 % and
  100 %;
- relative change of a ratio of means (cost per call, cost per successful outcome): the
  delta method on the log of the ratio, mapped back as ``exp(...) - 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


def z_value(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def variance(values: Sequence[float]) -> float:
    """The sample variance (n - 1); 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    m = mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (n - 1)


def covariance(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = mean(xs), mean(ys)
    return math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (n - 1)


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default, Hyndman-Fan 7)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float) -> Interval:
    """Interval for mean(b) - mean(a)."""
    diff = mean(b) - mean(a)
    se = math.sqrt(variance(a) / len(a) + variance(b) / len(b))
    half = z_value(confidence) * se
    return Interval(diff - half, diff + half)


def wilson(successes: int, n: int, confidence: float) -> Interval:
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float
) -> Interval:
    """Interval for p_b - p_a (Newcombe 1998, method 10)."""
    pa, pb = successes_a / n_a, successes_b / n_b
    la = wilson(successes_a, n_a, confidence)
    lb = wilson(successes_b, n_b, confidence)
    diff = pb - pa
    lower = diff - math.sqrt((pb - lb.low) ** 2 + (la.high - pa) ** 2)
    upper = diff + math.sqrt((lb.high - pb) ** 2 + (pa - la.low) ** 2)
    return Interval(max(-1.0, lower), min(1.0, upper))


def log_ratio_variance(
    numerators: Sequence[float], denominators: Sequence[float] | None = None
) -> float | None:
    """Delta-method variance of log(mean(numerators) / mean(denominators)).

    With no denominators, of log(mean(numerators)). None when a mean is not positive
    (the log is undefined).
    """
    n = len(numerators)
    mx = mean(numerators)
    if mx <= 0:
        return None
    var = variance(numerators) / (n * mx * mx)
    if denominators is None:
        return var
    my = mean(denominators)
    if my <= 0:
        return None
    var += variance(denominators) / (n * my * my)
    var -= 2 * covariance(numerators, denominators) / (n * mx * my)
    return max(var, 0.0)


def relative_change_interval(
    ratio: float, variance_a: float, variance_b: float, confidence: float
) -> Interval:
    """Interval for ratio - 1, where ``ratio = b / a`` and the variances are of the logs."""
    half = z_value(confidence) * math.sqrt(variance_a + variance_b)
    centre = math.log(ratio)
    return Interval(math.exp(centre - half) - 1, math.exp(centre + half) - 1)
