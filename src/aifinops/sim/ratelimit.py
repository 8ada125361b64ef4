"""Rate-limit windows and the headers that report them.

Each (provider, model) has fixed one-minute windows on the simulator's clock. Every
answered request is counted; the headers report what is left of the window
(OpenAI ``x-ratelimit-*``, Anthropic ``anthropic-ratelimit-*``). With
``RateLimits.enforce`` a request that would go over a limit gets a 429 instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from aifinops.sim.config import RateLimits
from aifinops.sim.reply import Charge

WINDOW_S = 60.0


@dataclass(slots=True)
class _Window:
    start: float
    requests: int = 0
    tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Remaining:
    """What is left of a window after this request, and when it resets."""

    requests: int
    tokens: int
    input_tokens: int
    output_tokens: int
    reset_at: float
    now: float
    over: str | None = None


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``1s``, ``6m0s``, ``250ms``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RateLimiter:
    """Counts requests and tokens per (provider, model) per minute."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str], _Window] = {}

    def _window(self, provider: str, model: str, now: float) -> _Window:
        start = math.floor(now / WINDOW_S) * WINDOW_S
        window = self._windows.get((provider, model))
        if window is None or window.start != start:
            window = _Window(start)
            self._windows[(provider, model)] = window
        return window

    def charge(self, provider: str, model: str, charge: Charge, now: float) -> Remaining:
        """Count one request; ``over`` names the exceeded limit when enforcing refuses it."""
        lim = self.limits
        window = self._window(provider, model, now)
        tokens = charge.total_input + charge.output_tokens
        billed_input = charge.input_tokens + charge.cache_write
        over = None
        if lim.enforce:
            if window.requests + 1 > lim.requests_per_minute:
                over = "requests"
            elif provider == "openai" and window.tokens + tokens > lim.tokens_per_minute:
                over = "tokens"
            elif provider == "anthropic" and (
                window.input_tokens + billed_input > lim.input_tokens_per_minute
            ):
                over = "input_tokens"
            elif provider == "anthropic" and (
                window.output_tokens + charge.output_tokens > lim.output_tokens_per_minute
            ):
                over = "output_tokens"
        if over is None:
            window.requests += 1
            window.tokens += tokens
            window.input_tokens += billed_input
            window.output_tokens += charge.output_tokens
        return Remaining(
            requests=max(0, lim.requests_per_minute - window.requests),
            tokens=max(0, lim.tokens_per_minute - window.tokens),
            input_tokens=max(0, lim.input_tokens_per_minute - window.input_tokens),
            output_tokens=max(0, lim.output_tokens_per_minute - window.output_tokens),
            reset_at=window.start + WINDOW_S,
            now=now,
            over=over,
        )

    def headers(self, provider: str, left: Remaining) -> list[tuple[str, str]]:
        lim = self.limits
        if provider == "openai":
            reset = _duration(left.reset_at - left.now)
            return [
                ("x-ratelimit-limit-requests", str(lim.requests_per_minute)),
                ("x-ratelimit-limit-tokens", str(lim.tokens_per_minute)),
                ("x-ratelimit-remaining-requests", str(left.requests)),
                ("x-ratelimit-remaining-tokens", str(left.tokens)),
                ("x-ratelimit-reset-requests", reset),
                ("x-ratelimit-reset-tokens", reset),
            ]
        reset = _rfc3339(left.reset_at)
        # "tokens" reports whichever of the input and output limits is closer to running out
        tighter = min(
            (lim.input_tokens_per_minute, left.input_tokens),
            (lim.output_tokens_per_minute, left.output_tokens),
            key=lambda pair: pair[1] / pair[0],
        )
        out: list[tuple[str, str]] = []
        for name, limit, remaining in (
            ("requests", lim.requests_per_minute, left.requests),
            ("input-tokens", lim.input_tokens_per_minute, left.input_tokens),
            ("output-tokens", lim.output_tokens_per_minute, left.output_tokens),
            ("tokens", *tighter),
        ):
            out.append((f"anthropic-ratelimit-{name}-limit", str(limit)))
            out.append((f"anthropic-ratelimit-{name}-remaining", str(remaining)))
            out.append((f"anthropic-ratelimit-{name}-reset", reset))
        return out
