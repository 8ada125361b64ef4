"""Budget periods: calendar day, ISO week (Monday) or month, in a whole-hour time zone.

All arithmetic is on aware datetimes; a period is the half-open UTC interval
[start, end). Because the offset is a whole number of hours, every boundary falls on a
UTC hour, so the hourly rollup answers any period exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

PERIODS = ("month", "week", "day")
_ALIASES = {"monthly": "month", "weekly": "week", "daily": "day"}
_TZ = re.compile(r"^(?:utc|gmt)?\s*([+-])?\s*(\d{1,2})(?::?00)?$")


class PeriodSpecError(ValueError):
    """A bad period or time zone; the message says what is accepted."""


def parse_period(text: object) -> str:
    value = str(text).strip().lower() if isinstance(text, str) else ""
    value = _ALIASES.get(value, value)
    if value not in PERIODS:
        raise PeriodSpecError(f"{text!r} is not a period; use month, week or day")
    return value


def parse_tz_hours(text: object) -> int:
    """``UTC``, ``UTC+5``, ``+05:00``, ``-3`` … → whole hours east of UTC (-12 … +14)."""
    if isinstance(text, bool):
        raise PeriodSpecError(f"{text!r} is not a time zone")
    if isinstance(text, int):
        hours = text
    else:
        value = str(text).strip().lower()
        if value in ("utc", "gmt", "z", ""):
            return 0
        match = _TZ.match(value)
        if match is None:
            raise PeriodSpecError(
                f"{text!r} is not a whole-hour UTC offset; use UTC, UTC+5, +05:00 or -3"
            )
        hours = int(match[2]) * (-1 if match[1] == "-" else 1)
    if not -12 <= hours <= 14:
        raise PeriodSpecError(f"{text!r} is outside UTC-12 … UTC+14")
    return hours


def tz_name(hours: int) -> str:
    return "UTC" if hours == 0 else f"UTC{hours:+d}"


def period_bounds(period: str, tz_hours: int, at: datetime) -> tuple[datetime, datetime]:
    """The UTC [start, end) of the ``period`` containing ``at`` in zone UTC+``tz_hours``."""
    zone = timezone(timedelta(hours=tz_hours))
    local = at.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = midnight, midnight + timedelta(days=1)
    elif period == "week":
        start = midnight - timedelta(days=local.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = midnight.replace(day=1)
        end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    else:
        raise PeriodSpecError(f"{period!r} is not a period; use month, week or day")
    return start.astimezone(UTC), end.astimezone(UTC)
