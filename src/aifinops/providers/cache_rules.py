"""The providers' prompt-caching rules, as plain data other code can import.

The simulator applies these rules; the waste detectors reuse them to tell a prefix that
*could* have been cached from one too short to cache, and the gateway's caching
guardrail to tell a system prompt long enough to mark for caching
(`aifinops.sim.cache_rules` re-exports this module).

Anthropic (explicit ``cache_control`` breakpoints, or a top-level ``cache_control`` that
marks the last cacheable block):

- a breakpoint caches the whole prefix -- ``tools``, then ``system``, then ``messages``
  -- up to and including its block, but only when that prefix holds at least the
  model's minimum cacheable length (`ANTHROPIC_MIN_CACHEABLE_TOKENS`); shorter
  prefixes are processed uncached and no error is returned;
- at most `ANTHROPIC_MAX_BREAKPOINTS` breakpoints per request;
- a read looks back at most `ANTHROPIC_LOOKBACK_BLOCKS` block positions per breakpoint
  (the breakpoint itself included) for an entry an earlier request wrote;
- entries live 5 minutes (``ttl: "5m"``, default) or 1 hour (``"1h"``) and every read
  refreshes them; 1-hour breakpoints must come before 5-minute ones.

Minimums are from Anthropic's prompt-caching guide (section "Cache limitations",
platform.claude.com/docs/en/build-with-claude/prompt-caching, as stored in 2026);
models the guide does not list take `ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS`.

OpenAI (automatic prefix caching): prompts of at least `OPENAI_MIN_CACHEABLE_TOKENS`
tokens are cached, and a hit is reported in steps of `OPENAI_CACHE_INCREMENT_TOKENS`
(1,024, 1,152, 1,280, ... tokens of identical prefix).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

ANTHROPIC_MAX_BREAKPOINTS = 4
ANTHROPIC_LOOKBACK_BLOCKS = 20
#: Lifetime in seconds of each ``cache_control.ttl`` value.
ANTHROPIC_TTL_SECONDS: Mapping[str, int] = MappingProxyType({"5m": 300, "1h": 3600})
ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS = 1024

#: Minimum cacheable prefix, in tokens, per Anthropic model id (dated and ``-latest``
#: aliases resolve through `normalize_anthropic_model`).
ANTHROPIC_MIN_CACHEABLE_TOKENS: Mapping[str, int] = MappingProxyType(
    {
        "claude-fable-5-1": 512,
        "claude-mythos-5-1": 512,
        "claude-opus-5": 512,
        "claude-fable-5": 512,
        "claude-mythos-5": 512,
        "claude-mythos-preview": 2048,
        "claude-opus-4-7": 2048,
        "claude-opus-4-6": 4096,
        "claude-opus-4-5": 4096,
        "claude-opus-4-8": 1024,
        "claude-sonnet-5": 1024,
        "claude-sonnet-4-6": 1024,
        "claude-sonnet-4-5": 1024,
        "claude-opus-4-1": 1024,
        "claude-opus-4-0": 1024,
        "claude-sonnet-4-0": 1024,
        "claude-3-7-sonnet": 1024,
        "claude-3-5-sonnet": 1024,
        "claude-3-opus": 1024,
        "claude-haiku-4-5": 4096,
        "claude-3-5-haiku": 2048,
        "claude-3-haiku": 2048,
    }
)

OPENAI_MIN_CACHEABLE_TOKENS = 1024
OPENAI_CACHE_INCREMENT_TOKENS = 128

_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)$")
_BEDROCK = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.(.+?)(?:-v\d+(?::\d+)?)?$")
_BARE_FOUR = re.compile(r"^claude-(opus|sonnet)-4$")


def normalize_anthropic_model(model: str) -> str:
    """The table key of a model id: Bedrock prefixes, dates and ``-latest`` removed.

    ``claude-sonnet-4-5-20250929`` → ``claude-sonnet-4-5``;
    ``us.anthropic.claude-3-5-haiku-20241022-v1:0`` → ``claude-3-5-haiku``;
    ``claude-opus-4`` → ``claude-opus-4-0``.
    """
    name = model.strip().lower()
    bedrock = _BEDROCK.match(name)
    if bedrock:
        name = bedrock.group(1)
    name = _DATE_SUFFIX.sub("", name)
    if _BARE_FOUR.match(name):
        name += "-0"
    return name


def anthropic_min_cacheable_tokens(model: str, overrides: Mapping[str, int] | None = None) -> int:
    """The minimum cacheable prefix of an Anthropic model, overrides first."""
    key = normalize_anthropic_model(model)
    if overrides:
        for name, tokens in overrides.items():
            if normalize_anthropic_model(name) == key:
                return tokens
    return ANTHROPIC_MIN_CACHEABLE_TOKENS.get(key, ANTHROPIC_DEFAULT_MIN_CACHEABLE_TOKENS)


def openai_cached_tokens_ceiling(prompt_tokens: int) -> int:
    """The most tokens of a prompt OpenAI could report cached (0 below the minimum)."""
    if prompt_tokens < OPENAI_MIN_CACHEABLE_TOKENS:
        return 0
    steps = (prompt_tokens - OPENAI_MIN_CACHEABLE_TOKENS) // OPENAI_CACHE_INCREMENT_TOKENS
    return OPENAI_MIN_CACHEABLE_TOKENS + steps * OPENAI_CACHE_INCREMENT_TOKENS
