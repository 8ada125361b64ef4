"""Money at rest is integer nano-USD (1e-9 USD); at the edges it is a decimal string."""

from __future__ import annotations

from decimal import Decimal

NANO_PER_USD = 10**9


def nusd_to_usd(nusd: int | None) -> str | None:
    """``1234500`` → ``"0.001234500"``; None stays None (unknown is never $0)."""
    if nusd is None:
        return None
    sign = "-" if nusd < 0 else ""
    whole, frac = divmod(abs(nusd), NANO_PER_USD)
    return f"{sign}{whole}.{frac:09d}"


def nusd_to_decimal(nusd: int) -> Decimal:
    return Decimal(nusd).scaleb(-9)


def usd_to_nusd(usd: str | Decimal | int) -> int:
    """A decimal USD amount to nano-USD, rounded half up."""
    value = Decimal(str(usd)) * NANO_PER_USD
    return int(value.to_integral_value(rounding="ROUND_HALF_UP"))
