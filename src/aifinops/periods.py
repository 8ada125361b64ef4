"""Date ranges of the CLI and API: inclusive UTC dates, months, `today`, `current`, `last`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class PeriodError(ValueError):
    """A bad date or month; ``field`` names the option (``from``, ``to``, ``month``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def utc_today() -> date:
    return datetime.now(UTC).date()


def parse_day(field: str, text: str, *, today: date | None = None) -> date:
    """``YYYY-MM-DD`` or ``today`` (UTC)."""
    value = text.strip().lower()
    if value == "today":
        return today or utc_today()
    if value == "yesterday":
        return (today or utc_today()) - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(field, f"{text!r} is not a date; use YYYY-MM-DD or today") from None


def month_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def parse_month(text: str, *, today: date | None = None) -> tuple[date, date]:
    """``YYYY-MM``, ``current`` or ``last`` → (first day, last day), inclusive."""
    now = today or utc_today()
    value = text.strip().lower()
    if value == "current":
        return month_bounds(now.year, now.month)
    if value == "last":
        prev = now.replace(day=1) - timedelta(days=1)
        return month_bounds(prev.year, prev.month)
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise PeriodError(
            "month", f"{text!r} is not a month; use YYYY-MM, current or last"
        ) from None
    return month_bounds(parsed.year, parsed.month)


def resolve_range(
    start: str | None, end: str | None, month: str | None, *, today: date | None = None
) -> tuple[date, date]:
    """The inclusive range of ``--from/--to`` or ``--month`` (exactly one of the two)."""
    if month and (start or end):
        raise PeriodError("month", "give either --month or --from/--to, not both")
    if month:
        return parse_month(month, today=today)
    if not start or not end:
        raise PeriodError("from" if not start else "to", "give --from and --to, or --month")
    lo, hi = parse_day("from", start, today=today), parse_day("to", end, today=today)
    if hi < lo:
        raise PeriodError("to", f"{hi} is before --from {lo}")
    return lo, hi
