"""Units of work (tickets, leads, cases…) of one feature in one block of time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from aifinops.sim.company.kinds import F64, I64
from aifinops.sim.company.options import block_weight, day_factor
from aifinops.sim.company.spec import FEATURES, HOURLY_WEIGHTS, Version

HOUR_MS = 3_600_000
SUCCESS_QUALITY_SHIFT = 0.05  # a successful unit's quality sits above the version's mean
FAILURE_QUALITY_SHIFT = -0.12
QUALITY_SIGMA = 0.05


@dataclass(frozen=True)
class Units:
    """Columns, one row per unit; ``quality`` is NaN where the feature grades none."""

    feature: int
    version: int
    serial: I64  # the unit's number within its feature, unique over the run
    customer: I64
    start_ms: I64
    n_calls: I64
    success: npt.NDArray[np.bool_]
    quality: F64

    def __len__(self) -> int:
        return int(self.serial.shape[0])


def _quality(rng: np.random.Generator, version: Version, success: npt.NDArray[np.bool_]) -> F64:
    if version.quality is None:
        return np.full(success.shape[0], np.nan)
    shift = np.where(success, SUCCESS_QUALITY_SHIFT, FAILURE_QUALITY_SHIFT)
    drawn: F64 = rng.normal(version.quality + shift, QUALITY_SIGMA)
    return np.round(np.clip(drawn, 0.0, 1.0), 2).astype(np.float64)


def draw_units(
    rng: np.random.Generator,
    *,
    feature: int,
    version: int,
    day: date,
    day_start_ms: int,
    hours: range,
    scale: float,
    customer_weights: F64,
    first_serial: int,
) -> Units:
    """Draw the units that start in ``hours`` of ``day`` (Poisson count, Zipf customers)."""
    spec = FEATURES[feature]
    live = spec.versions[version]
    lam = spec.units_per_day * day_factor(day) * scale * block_weight(hours)
    n = int(rng.poisson(lam))
    customer = rng.choice(customer_weights.shape[0], size=n, p=customer_weights)
    hour_weights = np.array([HOURLY_WEIGHTS[h] for h in hours])
    hour = rng.choice(np.array(hours), size=n, p=hour_weights / hour_weights.sum())
    start = day_start_ms + hour.astype(np.int64) * HOUR_MS + rng.integers(0, HOUR_MS, n)
    lo, hi = live.calls
    n_calls = rng.integers(lo, hi + 1, n)
    success = rng.random(n) < live.success
    return Units(
        feature=feature,
        version=version,
        serial=np.arange(first_serial, first_serial + n, dtype=np.int64),
        customer=customer.astype(np.int64),
        start_ms=start.astype(np.int64),
        n_calls=n_calls.astype(np.int64),
        success=success,
        quality=_quality(rng, live, success),
    )
