"""Is a daily series rising? The Mann-Kendall trend test with Theil-Sen's slope.

Mann-Kendall is rank-based: it asks whether later days are more often above earlier
days than chance allows, so one expensive outlier day cannot make a trend, and it makes
no assumption about the distribution of daily costs. S = Σ sign(x_j − x_i) over i < j;
its variance with ties corrected is n(n−1)(2n+5)/18 − Σ t(t−1)(2t+5)/18; Z uses the
continuity correction; the p-value is two-sided from the normal distribution (fine for
n ≥ 8, the minimum used here). The slope is Theil-Sen's: the median of the pairwise
slopes, in the series' unit per day.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

#: Fewer days than this with a value: no trend is claimed.
MIN_DAYS = 8
ALPHA = 0.05
METHOD = (
    "Mann-Kendall trend test (two-sided, normal approximation with tie correction, "
    f"alpha {ALPHA}) on the days with a value in the 30-day window; Theil-Sen slope; "
    f"at least {MIN_DAYS} days"
)


@dataclass(frozen=True, slots=True)
class Trend:
    direction: str  # rising | falling | flat | insufficient_data
    slope_per_day: float | None
    p_value: float | None
    days: int


def _variance(values: Sequence[float]) -> float:
    n = len(values)
    ties = Counter(values).values()
    return (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18


def mann_kendall(days: Sequence[int], values: Sequence[float]) -> Trend:
    """Trend of ``values`` observed on ``days`` (day numbers, ascending)."""
    n = len(values)
    if n < MIN_DAYS:
        return Trend("insufficient_data", None, None, n)
    s = 0
    slopes: list[float] = []
    for i in range(n - 1):
        for j in range(i + 1, n):
            diff = values[j] - values[i]
            s += (diff > 0) - (diff < 0)
            slopes.append(diff / (days[j] - days[i]))
    var = _variance(values)
    if var <= 0:
        return Trend("flat", 0.0, 1.0, n)
    z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    slopes.sort()
    mid = len(slopes) // 2
    slope = slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2
    direction = "flat"
    if p < ALPHA and s != 0:
        direction = "rising" if s > 0 else "falling"
    return Trend(direction, slope, p, n)
