"""Daily spend anomalies per team and per feature.

A team's (or feature's) effective spend on one complete UTC day, ``x``, is compared with
its own baseline: the 14 UTC days before it, from ``rollup_daily`` (a day without a call
counts as $0). With ``m`` the median of those 14 days and ``MAD`` their median absolute
deviation from ``m``, the day is an anomaly when all three hold:

- ``x > m + 4 × 1.4826 × MAD`` — more than four robust standard deviations above the
  median (1.4826 × MAD estimates the standard deviation of normal data, and unlike the
  mean and standard deviation it is not dragged up by an earlier spike);
- ``x > 2 × m`` — at least double a usual day, so a very steady series (MAD near 0)
  does not flag a small wobble;
- ``x − m ≥`` the floor (``AIFINOPS_ANOMALY_MIN_USD``, default $5), so cents never page
  anyone.

Only a series with spend on at least 7 of its 14 baseline days is judged: a new team or
feature has no baseline yet, and its first busy day is not an anomaly. Everything is
exact (integer nano-USD and fractions), so the same data always gives the same answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import rollup_daily

BASELINE_DAYS = 14
MIN_HISTORY_DAYS = 7
ROBUST_K = 4
MAD_SCALE = Fraction("1.4826")
DIMENSIONS = ("team", "feature")
RULE = (
    f"spend > median + {ROBUST_K}·1.4826·MAD of the previous {BASELINE_DAYS} days, "
    "> 2 × median, and ≥ the floor above the median"
)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One team's or feature's day whose spend jumped beyond its baseline."""

    dimension: str  # team | feature
    name: str
    day: date
    spend_nusd: int
    median_nusd: int
    mad_nusd: int
    bound_nusd: int  # the spend the day had to beat
    history_days: int  # baseline days with spend

    @property
    def subject(self) -> str:
        return f"{self.dimension}:{self.name}"

    @property
    def ratio(self) -> float | None:
        """The day's spend as a multiple of the median (None for a zero median)."""
        return round(self.spend_nusd / self.median_nusd, 2) if self.median_nusd else None


def median(values: Sequence[int | Fraction]) -> Fraction:
    ordered = sorted(Fraction(v) for v in values)
    if not ordered:
        raise ValueError("median of no values")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def judge(
    dimension: str,
    name: str,
    day: date,
    spend_nusd: int,
    history: Sequence[int],
    floor_nusd: int,
) -> Anomaly | None:
    """The anomaly of one day against its baseline ``history`` (oldest first), or None."""
    if sum(1 for v in history if v > 0) < MIN_HISTORY_DAYS:
        return None
    m = median(history)
    mad = median([abs(v - m) for v in history])
    robust = m + ROBUST_K * MAD_SCALE * mad
    bound = max(robust, 2 * m, m + floor_nusd)
    if not (spend_nusd > robust and spend_nusd > 2 * m and spend_nusd - m >= floor_nusd):
        return None
    return Anomaly(
        dimension=dimension,
        name=name,
        day=day,
        spend_nusd=spend_nusd,
        median_nusd=round(m),
        mad_nusd=round(mad),
        bound_nusd=round(bound),
        history_days=sum(1 for v in history if v > 0),
    )


def daily_spend(
    conn: Connection, dimension: str, first: date, last: date
) -> dict[str, dict[date, int]]:
    """Effective nano-USD per (team or feature, UTC day) over [first, last]; names only."""
    column = rollup_daily.c[dimension]
    stmt = (
        select(column, rollup_daily.c.day, func.sum(rollup_daily.c.effective_cost_nusd))
        .where(and_(rollup_daily.c.day >= first, rollup_daily.c.day <= last, column != ""))
        .group_by(column, rollup_daily.c.day)
    )
    out: dict[str, dict[date, int]] = defaultdict(dict)
    for name, day, spend in conn.execute(stmt):
        value = day if isinstance(day, date) else date.fromisoformat(str(day))
        out[name][value] = int(spend or 0)
    return out


def find_anomalies(conn: Connection, day: date, floor_nusd: int) -> list[Anomaly]:
    """The teams and features whose spend on ``day`` (a complete UTC day) is an anomaly."""
    first = day - timedelta(days=BASELINE_DAYS)
    baseline_days = [first + timedelta(days=i) for i in range(BASELINE_DAYS)]
    found = []
    for dimension in DIMENSIONS:
        for name, series in sorted(daily_spend(conn, dimension, first, day).items()):
            spend = series.get(day, 0)
            if spend <= 0:
                continue
            history = [series.get(d, 0) for d in baseline_days]
            anomaly = judge(dimension, name, day, spend, history, floor_nusd)
            if anomaly is not None:
                found.append(anomaly)
    return found
