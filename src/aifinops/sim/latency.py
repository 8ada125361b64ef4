"""Latency profiles: ``zero`` answers at once, ``realistic`` behaves like a busy API.

Under ``realistic`` each model falls in a speed class by its name:

=========  =====================================  ==============  ===========
class      names containing                       time to first   output rate
=========  =====================================  ==============  ===========
fast       mini, nano, haiku, flash, lite         0.25 s          150 tok/s
slow       opus, fable, mythos, -pro, o1, o3      0.90 s          45 tok/s
standard   anything else                          0.45 s          80 tok/s
=========  =====================================  ==============  ===========

Time to first token also grows with the prompt -- 40 µs per uncached input token
(25,000 tok/s prefill) and a tenth of that per cached token -- and with the reasoning
tokens, which are generated at the output rate before the first visible token.
Embeddings take 50 ms plus 10 µs per input token. A non-streaming reply arrives after
the whole generation time; a stream sends its headers at once, the first event after
the time to first token, and each later event after its tokens at the output rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aifinops.sim.config import LatencyProfile
from aifinops.sim.reply import Charge


@dataclass(frozen=True, slots=True)
class Speed:
    ttft_s: float
    tokens_per_s: float


FAST = Speed(0.25, 150.0)
STANDARD = Speed(0.45, 80.0)
SLOW = Speed(0.90, 45.0)
PREFILL_TOKENS_PER_S = 25_000.0
CACHED_PREFILL_TOKENS_PER_S = 250_000.0
EMBEDDING_BASE_S = 0.05
EMBEDDING_TOKENS_PER_S = 100_000.0

_FAST = re.compile(r"mini|nano|haiku|flash|lite")
_SLOW = re.compile(r"opus|fable|mythos|-pro|^o1|^o3")


def speed_for(model: str) -> Speed:
    name = model.lower()
    if _FAST.search(name):
        return FAST
    if _SLOW.search(name):
        return SLOW
    return STANDARD


@dataclass(frozen=True, slots=True)
class Timing:
    """Delay before the first event, and per output token after it."""

    first_s: float = 0.0
    per_token_s: float = 0.0

    def total(self, output_tokens: int) -> float:
        return self.first_s + self.per_token_s * output_tokens


ZERO = Timing()


def timing(profile: LatencyProfile, model: str, charge: Charge, *, embedding: bool) -> Timing:
    """The delays of one reply under a latency profile."""
    if profile == "zero":
        return ZERO
    if embedding:
        return Timing(EMBEDDING_BASE_S + charge.total_input / EMBEDDING_TOKENS_PER_S, 0.0)
    speed = speed_for(model)
    first = (
        speed.ttft_s
        + (charge.input_tokens + charge.cache_write) / PREFILL_TOKENS_PER_S
        + charge.cache_read / CACHED_PREFILL_TOKENS_PER_S
        + charge.reasoning_tokens / speed.tokens_per_s
    )
    return Timing(first, 1.0 / speed.tokens_per_s)
