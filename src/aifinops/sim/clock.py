"""The simulator's only source of time, so tests can move it instead of waiting."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time and sleeping, as the simulator uses them.

    ``now`` is seconds since the Unix epoch (cache lifetimes, rate-limit windows,
    ``created`` timestamps); ``sleep`` is every delay the simulator makes (latency
    profiles, latency faults, the ``timeout`` hang). A test clock can advance ``now``
    instantly and record sleeps instead of waiting.
    """

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.time`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)
