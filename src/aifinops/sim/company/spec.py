"""The synthetic CRM company as data: teams, models, features and their planted patterns.

This table is the specification of issue 3, item 5. Everything the generator does is
driven from here; docs/synthetic-company.md describes the signals it produces.

Token counts are per call. ``input_median`` is the variable, uncached part of the
prompt (the ticket, the lead, the question); system prompt and retrieved chunks are
added on top. Lognormal draws use the median and ``sigma`` of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CacheMode = Literal["5m", "1h", "auto-24h", "none"]


@dataclass(frozen=True, slots=True)
class Model:
    """A model as the company calls it: provider, endpoint and speed."""

    name: str
    provider: str
    endpoint: str
    service_tier: str
    ttft_ms: int  # median time to first token (0: not a generation endpoint)
    tokens_per_s: int  # output speed (0: no output)
    max_output: int  # the model's own output cap, reached only without max_tokens


@dataclass(frozen=True, slots=True)
class Step:
    """One call of a unit of work (steps are cycled by the call's index in the unit)."""

    model: str
    input_median: int
    input_sigma: float
    output_median: int
    output_sigma: float
    max_tokens: int | None
    chunks: tuple[int, int] | None  # retrieved documents (inclusive range); None: n/a
    chunk_tokens: int
    cache: CacheMode  # "5m"/"1h": Anthropic cache_control; "auto-24h": OpenAI
    uses_system: bool = True
    runaway: float = 0.0  # share of calls whose output runs away (no max_tokens)


@dataclass(frozen=True, slots=True)
class Version:
    """A prompt version: from which fraction of the window it is live, and its economics."""

    name: str
    start: float
    system_tokens: int
    calls: tuple[int, int]  # calls per unit (inclusive range)
    output_factor: float
    success: float
    quality: float | None


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    team: str
    outcome_type: str
    unit_prefix: str
    units_per_day: float  # a weekday at scale 1
    steps: tuple[Step, ...]
    versions: tuple[Version, ...]
    gap_s: tuple[float, float]  # pause between a unit's calls
    outcome_delay_s: tuple[float, float]  # from the unit's last call to its outcome
    pattern: str
    human_cost_usd: str | None = None
    value_per_outcome_usd: str | None = None


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    slack_channel: str
    api_key_id: str


ANTHROPIC_MESSAGES = "/v1/messages"
OPENAI_CHAT = "/v1/chat/completions"
OPENAI_EMBEDDINGS = "/v1/embeddings"

MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("claude-sonnet-4-5", "anthropic", ANTHROPIC_MESSAGES, "standard", 900, 65, 64_000),
        Model("claude-haiku-4-5", "anthropic", ANTHROPIC_MESSAGES, "standard", 450, 140, 64_000),
        Model("claude-opus-4-1", "anthropic", ANTHROPIC_MESSAGES, "standard", 1_500, 35, 32_000),
        Model("gpt-4o-mini", "openai", OPENAI_CHAT, "default", 450, 90, 16_384),
        Model("gpt-4.1", "openai", OPENAI_CHAT, "default", 700, 75, 32_768),
        Model("gpt-4.1-nano", "openai", OPENAI_CHAT, "default", 300, 160, 32_768),
        Model("text-embedding-3-small", "openai", OPENAI_EMBEDDINGS, "default", 0, 0, 0),
    )
}

#: Smallest prompt prefix a provider will cache (tokens). OpenAI caches automatically
#: from 1,024 tokens in steps of 128 (account-health asks for 24 h retention);
#: Anthropic needs ``cache_control`` and a minimum that depends on the model.
MIN_CACHEABLE: dict[str, int] = {
    "claude-sonnet-4-5": 1_024,
    "claude-opus-4-1": 1_024,
    "claude-haiku-4-5": 4_096,
    "gpt-4o-mini": 1_024,
    "gpt-4.1": 1_024,
    "gpt-4.1-nano": 1_024,
}
OPENAI_CACHE_STEP = 128
CACHE_TTL_S: dict[str, int] = {"5m": 300, "1h": 3_600, "auto-24h": 86_400}

TEAMS: tuple[Team, ...] = (
    Team("support", "#ai-spend-support", "key_support_prod"),
    Team("sales", "#ai-spend-sales", "key_sales_prod"),
    Team("success", "#ai-spend-success", "key_success_prod"),
    Team("platform", "#ai-spend-platform", "key_platform_prod"),
)


def _single(
    name: str, system: int, calls: tuple[int, int], success: float, quality: float | None
) -> tuple[Version]:
    return (Version(name, 0.0, system, calls, 1.0, success, quality),)


FEATURES: tuple[Feature, ...] = (
    Feature(
        name="ticket-resolution",
        team="support",
        outcome_type="resolution",
        unit_prefix="tkt",
        units_per_day=170,
        steps=(Step("claude-sonnet-4-5", 1_800, 0.5, 380, 0.5, 1_024, (2, 6), 350, "5m"),),
        versions=_single("v7", 3_800, (2, 6), 0.74, 0.86),
        gap_s=(20.0, 180.0),
        outcome_delay_s=(60.0, 1_800.0),
        pattern="healthy",
        human_cost_usd="6.50",
    ),
    Feature(
        name="case-summary",
        team="support",
        outcome_type="summary",
        unit_prefix="case",
        units_per_day=140,
        steps=(Step("claude-haiku-4-5", 2_600, 0.4, 300, 0.4, 4_096, (1, 3), 500, "1h"),),
        versions=(
            Version("v1", 0.00, 4_300, (1, 1), 1.0, 0.90, 0.87),
            Version("v2", 0.25, 6_900, (1, 2), 1.35, 0.84, 0.81),
            Version("v3", 0.50, 10_400, (1, 3), 1.9, 0.76, 0.74),
            Version("v4", 0.75, 15_200, (2, 3), 2.6, 0.66, 0.66),
        ),
        gap_s=(2.0, 20.0),
        outcome_delay_s=(10.0, 600.0),
        pattern="growing-system-prompt",
        human_cost_usd="2.00",
    ),
    Feature(
        name="ticket-triage",
        team="support",
        outcome_type="routing",
        unit_prefix="tri",
        units_per_day=210,
        steps=(Step("claude-opus-4-1", 700, 0.5, 18, 0.3, 64, None, 0, "1h"),),
        versions=_single("v2", 2_600, (1, 1), 0.96, None),
        gap_s=(0.0, 0.0),
        outcome_delay_s=(30.0, 1_800.0),
        pattern="overpowered-model",
        human_cost_usd="0.40",
    ),
    Feature(
        name="lead-qualification",
        team="sales",
        outcome_type="qualification",
        unit_prefix="lead",
        units_per_day=110,
        steps=(Step("claude-sonnet-4-5", 1_400, 0.4, 320, 0.4, 1_024, (1, 4), 300, "none"),),
        versions=_single("v3", 9_200, (2, 2), 0.31, 0.84),
        gap_s=(0.2, 2.0),
        outcome_delay_s=(300.0, 1_800.0),
        pattern="no-prompt-caching",
        value_per_outcome_usd="40.00",
    ),
    Feature(
        name="email-drafting",
        team="sales",
        outcome_type="draft",
        unit_prefix="draft",
        units_per_day=160,
        steps=(
            Step("gpt-4o-mini", 1_100, 0.4, 330, 0.45, None, (1, 3), 250, "none", runaway=0.07),
        ),
        versions=_single("v5", 650, (1, 2), 0.82, 0.80),
        gap_s=(5.0, 60.0),
        outcome_delay_s=(60.0, 1_800.0),
        pattern="no-max-tokens",
        human_cost_usd="1.50",
    ),
    Feature(
        name="account-health",
        team="success",
        outcome_type="health_report",
        unit_prefix="hlth",
        units_per_day=45,
        steps=(Step("gpt-4.1", 900, 0.4, 750, 0.35, 2_048, (30, 48), 420, "auto-24h"),),
        versions=_single("v2", 1_850, (1, 2), 0.88, 0.85),
        gap_s=(1.0, 10.0),
        outcome_delay_s=(60.0, 1_800.0),
        pattern="context-stuffing",
        human_cost_usd="12.00",
    ),
    Feature(
        name="renewal-brief",
        team="success",
        outcome_type="brief",
        unit_prefix="renew",
        units_per_day=14,
        steps=(Step("claude-sonnet-4-5", 12_000, 0.35, 1_100, 0.4, 4_096, (3, 8), 1_200, "1h"),),
        versions=_single("v4", 3_200, (9, 15), 0.42, 0.62),
        gap_s=(0.3, 3.0),
        outcome_delay_s=(300.0, 1_800.0),
        pattern="above-red-line",
        human_cost_usd="3.00",
    ),
    Feature(
        name="internal-search",
        team="platform",
        outcome_type="answer",
        unit_prefix="q",
        units_per_day=220,
        steps=(
            Step("text-embedding-3-small", 35, 0.4, 0, 0.0, None, None, 0, "none", False),
            Step("gpt-4.1-nano", 120, 0.4, 170, 0.4, 512, (4, 6), 300, "none"),
        ),
        versions=_single("v1", 600, (2, 2), 0.71, 0.80),
        gap_s=(0.05, 0.3),
        outcome_delay_s=(5.0, 300.0),
        pattern="healthy",
        human_cost_usd="0.50",
    ),
)

#: Relative traffic per UTC hour (US and EU business hours overlap in the afternoon).
HOURLY_WEIGHTS: tuple[float, ...] = (
    0.20, 0.15, 0.12, 0.12, 0.15, 0.25, 0.45, 0.70, 0.95, 1.10, 1.20, 1.25,
    1.30, 1.45, 1.60, 1.65, 1.60, 1.45, 1.25, 1.00, 0.80, 0.60, 0.40, 0.28,
)  # fmt: skip
WEEKEND_FACTOR = 0.35

#: Failed attempts (each followed by a successful retry): share of calls, then
#: (status, error_type, share of the failures) per provider.
ERROR_RATE: dict[str, float] = {"anthropic": 0.012, "openai": 0.008}
ERRORS: dict[str, tuple[tuple[int, str, float], ...]] = {
    "anthropic": (
        (429, "rate_limit_error", 0.45),
        (529, "overloaded_error", 0.35),
        (500, "api_error", 0.20),
    ),
    "openai": ((429, "rate_limit_exceeded", 0.60), (500, "server_error", 0.40)),
}
NATURAL_STOP: dict[str, str] = {"anthropic": "end_turn", "openai": "stop"}
LENGTH_STOP: dict[str, str] = {"anthropic": "max_tokens", "openai": "length"}
RUNAWAY_RANGE = (2_500, 24_000)  # log-uniform draw, capped at the model's max output

TEAM_BY_NAME: dict[str, Team] = {t.name: t for t in TEAMS}
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
