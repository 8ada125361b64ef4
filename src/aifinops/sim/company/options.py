"""What to generate: options, their validation, and the resolved window and blocks."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from aifinops.sim.company.spec import (
    ERROR_RATE,
    FEATURES,
    HOURLY_WEIGHTS,
    MODELS,
    WEEKEND_FACTOR,
    Version,
)

MAX_EVENTS = 10_000_000
MAX_DAYS = 366
MAX_CUSTOMERS = 10_000
BLOCKS_PER_DAY: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 24)
DAY_MS = 86_400_000


class OptionError(ValueError):
    """An option is out of range; ``option`` names it as the CLI spells it."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}")


@dataclass(frozen=True, slots=True)
class CompanyOptions:
    """The knobs of the synthetic company. ``end`` None means yesterday (UTC)."""

    days: int = 30
    end: date | None = None
    seed: int = 42
    scale: float = 1.0
    customers: int = 40
    block_events: int = 100_000  # target calls per generated block: bounds memory


@dataclass(frozen=True, slots=True)
class Window:
    """The resolved run: dates, blocks and the dataset key that prefixes every id."""

    options: CompanyOptions
    first_day: date
    last_day: date
    blocks_per_day: int
    key: str

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.options.days)]

    @property
    def month_start(self) -> date:
        """The first day of the month of the last day: "this month" for budgets."""
        return self.last_day.replace(day=1)


def day_factor(day: date) -> float:
    return WEEKEND_FACTOR if day.weekday() >= 5 else 1.0


def mean_calls_per_day(day_index: int, days: int) -> float:
    """Expected calls (failed attempts included) on a weekday at this position, scale 1."""
    total = 0.0
    for feature in FEATURES:
        version = version_index(feature.versions, day_index, days)
        lo, hi = feature.versions[version].calls
        retries = 1 + ERROR_RATE[MODELS[feature.steps[-1].model].provider]
        total += feature.units_per_day * (lo + hi) / 2 * retries
    return total


def version_index(versions: tuple[Version, ...], day_index: int, days: int) -> int:
    """The prompt version live on a day: the last whose start fraction has been reached."""
    position = day_index / days
    return max(i for i, v in enumerate(versions) if v.start <= position)


def expected_events(options: CompanyOptions, last_day: date) -> float:
    first = last_day - timedelta(days=options.days - 1)
    total = 0.0
    for i in range(options.days):
        day = first + timedelta(days=i)
        total += mean_calls_per_day(i, options.days) * day_factor(day)
    return total * options.scale


def validate(options: CompanyOptions, last_day: date) -> None:
    if not 1 <= options.days <= MAX_DAYS:
        raise OptionError("--days", f"must be between 1 and {MAX_DAYS}, got {options.days}")
    if options.seed < 0:
        raise OptionError("--seed", f"must be zero or more, got {options.seed}")
    if not (options.scale > 0 and math.isfinite(options.scale)):
        raise OptionError("--scale", f"must be a number more than 0, got {options.scale}")
    if not 1 <= options.customers <= MAX_CUSTOMERS:
        raise OptionError(
            "--customers", f"must be between 1 and {MAX_CUSTOMERS}, got {options.customers}"
        )
    if options.block_events < 1_000:
        raise OptionError("block_events", f"must be at least 1000, got {options.block_events}")
    expected = expected_events(options, last_day)
    if expected > MAX_EVENTS:
        most = math.floor(options.scale * MAX_EVENTS / expected * 100) / 100
        raise OptionError(
            "--scale",
            f"{options.scale:g} over {options.days} days makes about {expected:,.0f} events; "
            f"the most is {MAX_EVENTS:,} (use --scale {most:.2f} or fewer --days)",
        )


def resolve(options: CompanyOptions, today: date | None = None) -> Window:
    """Validate the options and fix the dates (``end`` defaults to yesterday, UTC)."""
    if options.end is not None:
        last_day = options.end
    else:
        last_day = (today or datetime.now(UTC).date()) - timedelta(days=1)
    validate(options, last_day)
    first_day = last_day - timedelta(days=options.days - 1)
    busiest = max(mean_calls_per_day(i, options.days) for i in range(options.days))
    per_day = busiest * options.scale
    blocks = next((b for b in BLOCKS_PER_DAY if per_day / b <= options.block_events), 24)
    text = f"{options.seed}|{first_day}|{last_day}|{options.scale!r}|{options.customers}"
    key = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Window(options, first_day, last_day, blocks, key)


def block_hours(blocks_per_day: int, block: int) -> range:
    size = 24 // blocks_per_day
    return range(block * size, (block + 1) * size)


def block_weight(hours: range) -> float:
    """The share of a day's traffic that falls in these UTC hours."""
    return sum(HOURLY_WEIGHTS[h] for h in hours) / sum(HOURLY_WEIGHTS)
