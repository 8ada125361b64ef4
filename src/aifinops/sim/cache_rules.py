"""The providers' prompt-caching rules (kept in `aifinops.providers.cache_rules`, shared
by the simulator, the waste detectors and the gateway's caching guardrail)."""

from aifinops.providers.cache_rules import (
    ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS,
    ANTHROPIC_LOOKBACK_BLOCKS,
    ANTHROPIC_MAX_BREAKPOINTS,
    ANTHROPIC_MIN_CACHEABLE_TOKENS,
    ANTHROPIC_TTL_SECONDS,
    OPENAI_CACHE_INCREMENT_TOKENS,
    OPENAI_MIN_CACHEABLE_TOKENS,
    anthropic_min_cacheable_tokens,
    normalize_anthropic_model,
    openai_cached_tokens_ceiling,
)

__all__ = [
    "ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS",
    "ANTHROPIC_LOOKBACK_BLOCKS",
    "ANTHROPIC_MAX_BREAKPOINTS",
    "ANTHROPIC_MIN_CACHEABLE_TOKENS",
    "ANTHROPIC_TTL_SECONDS",
    "OPENAI_CACHE_INCREMENT_TOKENS",
    "OPENAI_MIN_CACHEABLE_TOKENS",
    "anthropic_min_cacheable_tokens",
    "normalize_anthropic_model",
    "openai_cached_tokens_ceiling",
]
