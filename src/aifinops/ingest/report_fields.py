"""Reading fields of provider report rows: typed, with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class ReportFieldError(ValueError):
    """A field of a report row is missing or has the wrong type."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def count(row: Mapping[str, Any], name: str, *, required: bool = False) -> int:
    """A non-negative integer count; a missing optional count is 0."""
    path = name.split(".")
    value: Any = row
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        if required:
            raise ReportFieldError(name, "is missing")
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ReportFieldError(name, f"must be an integer, got {value!r}")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ReportFieldError(name, f"must be an integer, got {value}")
    if value < 0:
        raise ReportFieldError(name, f"must be zero or more, got {value}")
    return int(value)


def opt_str(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ReportFieldError(name, f"must be a string, got {value!r}")
    return str(value)


def opt_bool(row: Mapping[str, Any], name: str) -> bool | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ReportFieldError(name, f"must be true or false, got {value!r}")
    return value


def timestamp(value: object, name: str) -> datetime:
    """An RFC 3339 string or Unix seconds → an aware UTC datetime."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, str) and value:
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ReportFieldError(name, f"{value!r} is not an RFC 3339 timestamp") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ReportFieldError(name, "is missing" if value is None else f"bad timestamp {value!r}")


def decimal(value: object, name: str) -> Decimal:
    """A decimal amount sent as a string or a JSON number (never through a float)."""
    if isinstance(value, bool) or value is None:
        raise ReportFieldError(name, "is missing" if value is None else f"bad amount {value!r}")
    if isinstance(value, float):  # only if a caller parsed floats; keep its shortest repr
        value = repr(value)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ReportFieldError(name, f"{value!r} is not a decimal amount") from None
    if not result.is_finite():
        raise ReportFieldError(name, f"{value!r} is not a decimal amount")
    return result
