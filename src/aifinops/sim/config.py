"""Settings of one simulator instance, validated once and frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from aifinops.sim.clock import Clock, SystemClock
from aifinops.sim.faults import FaultPlan

LatencyProfile = Literal["zero", "realistic"]
LATENCY_PROFILES: tuple[LatencyProfile, ...] = ("zero", "realistic")


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits reported in rate-limit headers (and enforced when ``enforce`` is set).

    Windows are fixed minutes of the simulator's clock, counted per (provider, model).
    OpenAI's token limit counts input plus output tokens; Anthropic's input limit counts
    uncached input and cache writes (cache reads are free of it, as on the real API) and
    its output limit counts output tokens.
    """

    requests_per_minute: int = 10_000
    tokens_per_minute: int = 30_000_000
    input_tokens_per_minute: int = 4_000_000
    output_tokens_per_minute: int = 800_000
    enforce: bool = False

    def __post_init__(self) -> None:
        for name in (
            "requests_per_minute",
            "tokens_per_minute",
            "input_tokens_per_minute",
            "output_tokens_per_minute",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"rate_limits.{name}: must be a positive integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes one simulator app.

    - ``latency_profile``: ``zero`` answers at once; ``realistic`` waits a time to first
      token and paces output at a per-model token rate (see `aifinops.sim.latency`).
    - ``faults``: the fault rules (see `aifinops.sim.faults`).
    - ``clock``: time and sleeping; tests pass a fake one.
    - ``api_keys``: when set, only these keys are accepted; otherwise any non-empty key.
    - ``min_cacheable_tokens``: per-model overrides of Anthropic's minimum cacheable
      prefix (keys are model ids as normalised by `aifinops.sim.cache_rules`).
    - ``openai_cache_ttl_s``: idle lifetime of an OpenAI prefix-cache entry
      (``prompt_cache_retention: "24h"`` requests keep theirs a day).
    - ``output_tokens``: a fixed natural reply length; None derives it from the prompt.
    - ``seed``: seeds the ids and the generated text.
    """

    latency_profile: LatencyProfile = "zero"
    faults: FaultPlan = field(default_factory=FaultPlan)
    clock: Clock = field(default_factory=SystemClock)
    api_keys: frozenset[str] | None = None
    min_cacheable_tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    openai_cache_ttl_s: float = 600.0
    rate_limits: RateLimits = field(default_factory=RateLimits)
    output_tokens: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.latency_profile not in LATENCY_PROFILES:
            raise ValueError(
                f"latency_profile: {self.latency_profile!r} is not one of {LATENCY_PROFILES}"
            )
        if self.api_keys is not None and not self.api_keys:
            raise ValueError("api_keys: give at least one key, or None to accept any key")
        for model, tokens in self.min_cacheable_tokens.items():
            if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
                raise ValueError(
                    f"min_cacheable_tokens[{model!r}]: must be a positive integer, got {tokens!r}"
                )
        if self.output_tokens is not None and self.output_tokens < 0:
            raise ValueError(f"output_tokens: must be zero or more, got {self.output_tokens}")
        if self.openai_cache_ttl_s <= 0:
            raise ValueError(f"openai_cache_ttl_s: must be positive, got {self.openai_cache_ttl_s}")
