"""How the pages write the API's figures: money, shares, counts; sparklines and gauges
as inline SVG (drawn here, so they need no script and print as they look).

The API sends money as exact decimal strings; a page shows them rounded (half-even)
and keeps the exact string beside them in a ``data-usd`` attribute, so what the page
says can be checked against the API to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from markupsafe import Markup, escape

CENT = Decimal("0.01")
TENTH_MILLI = Decimal("0.0001")


def to_decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def usd(value: str | None, *, fine: bool = False) -> str:
    """``"1234.5678"`` → ``$1,234.57``; ``fine`` keeps 4 decimals (costs per call or
    per outcome); None (no price known) → ``n/a``, never $0."""
    amount = to_decimal(value)
    if amount is None:
        return "n/a"
    step = TENTH_MILLI if fine else CENT
    rounded = amount.quantize(step, rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,}"


def money(value: str | None, *, fine: bool = False) -> Markup:
    """The figure as HTML: rounded text, the exact API string in ``data-usd``."""
    exact = "" if value is None else value
    return Markup('<span class="usd" data-usd="{}">{}</span>').format(exact, usd(value, fine=fine))


def pct(value: float | None, *, digits: int = 1, ratio: bool = True) -> str:
    """A share: 0.1234 → ``12.3 %`` (``ratio=False`` when already in %)."""
    if value is None:
        return "n/a"
    scaled = value * 100 if ratio else value
    return f"{scaled:.{digits}f} %"


def count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def sparkline(values: Sequence[float | None], marks: Sequence[int] = (), label: str = "") -> Markup:
    """A 120x24 SVG line of ``values`` (None leaves a gap); ``marks`` are indexes drawn
    as vertical ticks (gate decisions on the timeline)."""
    width, height, pad = 120.0, 24.0, 2.0
    known = [v for v in values if v is not None]
    if not known:
        return Markup('<span class="muted">no data</span>')
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        x = pad + i * step
        y = height - pad - (v - lo) / span * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="#2563eb" stroke-width="1.5"/>'
        for s in segments
        if len(s) > 1
    )
    dots = "".join(
        f'<circle cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="1.5" fill="#2563eb"/>'
        for s in segments
        if len(s) == 1
    )
    ticks = "".join(
        f'<line x1="{pad + i * step:.1f}" x2="{pad + i * step:.1f}" y1="0" y2="{height:.0f}" '
        'stroke="#b45309" stroke-width="1" stroke-dasharray="2,2"/>'
        for i in marks
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(label)}">'
        f"{ticks}{lines}{dots}</svg>"
    )


def gauge(spend_pct: float, thresholds: Sequence[int], hard_limit_pct: int, state: str) -> Markup:
    """A horizontal gauge: spend in % of the budget on a 0..max(hard limit, spend) scale,
    a tick per soft threshold and a red one at the hard limit."""
    width, height = 240.0, 18.0
    top = max(float(hard_limit_pct), spend_pct, 100.0) * 1.05

    def x(p: float) -> float:
        return min(max(p, 0.0), top) / top * width

    colour = {"ok": "#16a34a", "threshold": "#d97706", "over_hard_limit": "#dc2626"}.get(
        state, "#6b7280"
    )
    ticks = "".join(
        f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="0" y2="{height:.0f}" stroke="#374151" '
        f'stroke-width="1"><title>{t} %</title></line>'
        for t in thresholds
    )
    hard = (
        f'<line x1="{x(hard_limit_pct):.1f}" x2="{x(hard_limit_pct):.1f}" y1="0" '
        f'y2="{height:.0f}" stroke="#dc2626" stroke-width="2"><title>hard limit '
        f"{hard_limit_pct} %</title></line>"
    )
    return Markup(
        f'<svg class="gauge" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{spend_pct:.1f} % of budget">'
        f'<rect x="0" y="3" width="{width:.0f}" height="{height - 6:.0f}" fill="#e5e7eb"/>'
        f'<rect x="0" y="3" width="{x(spend_pct):.1f}" height="{height - 6:.0f}" '
        f'fill="{colour}"/>{ticks}{hard}</svg>'
    )
