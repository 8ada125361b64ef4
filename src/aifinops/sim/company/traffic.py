"""The company's traffic as a stream of blocks: calls in time order and their outcomes.

A block is one day (or an equal part of a day at large scales, so that a block holds at
most about ``block_events`` calls). Each block draws from its own random generator,
seeded by (seed, day, block), so the stream is the same whatever reads it and however
far. Memory holds one block at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from aifinops.sim.company.cache import CacheState, Tokens, apply_cache
from aifinops.sim.company.calls import Calls, expand, failed_attempts
from aifinops.sim.company.customers import customer_weights
from aifinops.sim.company.kinds import F64, I64, kind_table
from aifinops.sim.company.options import DAY_MS, Window, block_hours, version_index
from aifinops.sim.company.spec import FEATURES
from aifinops.sim.company.units import HOUR_MS, draw_units


@dataclass(frozen=True)
class Outcomes:
    """One row per unit of work, in ts order."""

    feature: I64
    version: I64
    unit: I64
    customer: I64
    success: npt.NDArray[np.bool_]
    quality: F64
    ts_ms: I64

    def __len__(self) -> int:
        return int(self.unit.shape[0])


@dataclass(frozen=True)
class Block:
    calls: Calls  # in ts order
    tokens: Tokens  # aligned with calls
    first_event: int  # the run-wide number of the block's first call
    outcomes: Outcomes


def epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@dataclass
class _Counters:
    units: list[int]
    request: int = 0
    event: int = 0


def _outcomes(parts: list[Outcomes]) -> Outcomes:
    merged = Outcomes(
        **{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in Outcomes.__dataclass_fields__
        }
    )
    order = np.lexsort((merged.unit, merged.feature, merged.ts_ms))
    return Outcomes(
        **{name: getattr(merged, name)[order] for name in Outcomes.__dataclass_fields__}
    )


def _block(
    window: Window, day_index: int, block: int, counters: _Counters, cache: CacheState
) -> Block:
    options = window.options
    day = window.days[day_index]
    hours = block_hours(window.blocks_per_day, block)
    start_ms = epoch_ms(day) + hours.start * HOUR_MS
    end_ms = epoch_ms(day) + hours.stop * HOUR_MS
    rng = np.random.default_rng([options.seed, day.toordinal(), block])
    table = kind_table()
    weights = customer_weights(options.customers)
    parts: list[Calls] = []
    outcome_parts: list[Outcomes] = []
    for fi, feature in enumerate(FEATURES):
        version = version_index(feature.versions, day_index, options.days)
        units = draw_units(
            rng,
            feature=fi,
            version=version,
            day=day,
            day_start_ms=epoch_ms(day),
            hours=hours,
            scale=options.scale,
            customer_weights=weights,
            first_serial=counters.units[fi],
        )
        counters.units[fi] += len(units)
        expanded = expand(
            rng,
            table,
            units,
            block_start_ms=start_ms,
            block_end_ms=end_ms,
            first_request=counters.request,
        )
        counters.request += len(expanded.calls)
        parts.append(expanded.calls)
        lo, hi = feature.outcome_delay_s
        delay = np.rint(rng.uniform(lo, hi, len(units)) * 1000).astype(np.int64)
        outcome_parts.append(
            Outcomes(
                feature=np.full(len(units), fi, dtype=np.int64),
                version=np.full(len(units), version, dtype=np.int64),
                unit=units.serial,
                customer=units.customer,
                success=units.success,
                quality=units.quality,
                ts_ms=np.minimum(expanded.unit_end_ms + delay, end_ms - 1),
            )
        )
    calls = Calls.concat(parts)
    calls = Calls.concat([calls, failed_attempts(rng, table, calls, start_ms)])
    calls = calls.take(
        np.lexsort((calls.attempt, calls.step, calls.unit, calls.feature, calls.ts_ms))
    )
    tokens = apply_cache(calls, table, cache)
    result = Block(calls, tokens, counters.event, _outcomes(outcome_parts))
    counters.event += len(calls)
    return result


def iter_blocks(window: Window) -> Iterator[Block]:
    """Every block of the run, in time order."""
    counters = _Counters(units=[0] * len(FEATURES))
    cache = CacheState()
    for day_index in range(window.options.days):
        for block in range(window.blocks_per_day):
            yield _block(window, day_index, block, counters, cache)


def window_bounds_ms(window: Window) -> tuple[int, int]:
    """The run's first and one-past-last millisecond."""
    return epoch_ms(window.first_day), epoch_ms(window.last_day) + DAY_MS
