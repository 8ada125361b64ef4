"""Thresholds of the waste detectors: the ``optimize:`` section of the config file.

Every key is optional; a bad value is a `WasteConfigError` naming ``optimize.<key>``.
The defaults (`WasteSettings`) are documented in docs/optimize.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

#: Anthropic's Opus family and OpenAI's top price tier (the pro and 4.5 models).
DEFAULT_TOP_TIER: tuple[str, ...] = (
    "claude-opus-*",
    "claude-3-opus*",
    "*.anthropic.claude-opus-*",
    "gpt-4.5*",
    "o1-pro*",
    "o3-pro*",
    "gpt-5-pro*",
)


class WasteConfigError(ValueError):
    """A bad ``optimize`` setting; ``field`` names it (e.g. ``optimize.trim_top_k``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class WasteSettings:
    #: fnmatch patterns (case-insensitive) of top-tier models (overpowered_model).
    top_tier_models: tuple[str, ...] = DEFAULT_TOP_TIER
    #: Also top tier: a list price for uncached input of at least this many USD per
    #: million tokens (None: names only). $15 is Claude Opus 4.1's, o1's and gpt-5-pro's.
    top_tier_min_input_usd_per_mtok: Decimal | None = Decimal("15")
    #: A cheaper model qualifies when its eval score ≥ the current model's − tolerance.
    eval_tolerance: Decimal = Decimal("0.02")
    #: Per-feature tolerance overriding `eval_tolerance`.
    feature_tolerance: tuple[tuple[str, Decimal], ...] = ()
    #: no_prompt_caching: a prefix must be sent at least this often in the window.
    min_repeats: int = 10
    #: no_prompt_caching (volatile prefix): distinct prefixes ÷ calls at least this.
    volatile_share: Decimal = Decimal("0.9")
    #: system_prompt_growth: latest ÷ earliest mean system tokens at least this.
    system_growth_ratio: Decimal = Decimal("1.25")
    #: system_prompt_growth: a prompt taking at least this share of the input fires at
    #: the lower ratio `system_share_growth_ratio`.
    system_share: Decimal = Decimal("0.5")
    system_share_growth_ratio: Decimal = Decimal("1.1")
    #: context_bloat: mean context chunks per call above this.
    max_chunks: int = 20
    #: context_bloat: the top-k the saving assumes the context is trimmed to.
    trim_top_k: int = 10
    #: context_bloat: calls with input ≥ this × the feature's normal input are far above it.
    input_norm_factor: int = 4
    #: no_max_tokens: suggested cap = this × the top of the median output bucket.
    output_cap_factor: int = 4
    #: Findings worth less than this per month are not reported.
    min_monthly_saving_usd: Decimal = Decimal("0.10")

    def tolerance_for(self, feature: str) -> Decimal:
        return dict(self.feature_tolerance).get(feature, self.eval_tolerance)


_KEYS = tuple(f.name for f in fields(WasteSettings))


def _decimal(name: str, value: object, lo: Decimal, hi: Decimal | None = None) -> Decimal:
    where = f"optimize.{name}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise WasteConfigError(where, f"must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise WasteConfigError(where, f"must be a number, got {value!r}") from None
    if not number.is_finite() or number < lo or (hi is not None and number > hi):
        bound = f"from {lo} to {hi}" if hi is not None else f"{lo} or more"
        raise WasteConfigError(where, f"must be {bound}, got {value!r}")
    return number


def _int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise WasteConfigError(f"optimize.{name}", f"must be a whole number ≥ {lo}, got {value!r}")
    return value


def _patterns(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise WasteConfigError(
            "optimize.top_tier_models", 'must be a list of model patterns (e.g. ["claude-opus-*"])'
        )
    return tuple(v.strip().lower() for v in value)


def _tolerances(value: object) -> tuple[tuple[str, Decimal], ...]:
    if not isinstance(value, Mapping):
        raise WasteConfigError(
            "optimize.feature_tolerance", "must map feature names to tolerances (0 to 1)"
        )
    return tuple(
        (str(k), _decimal(f"feature_tolerance.{k}", v, Decimal(0), Decimal(1)))
        for k, v in value.items()
    )


def _whole(name: str, value: object) -> int:
    return _int(name, value, 1)


_ONE = Decimal(1)
_ZERO = Decimal(0)
#: How each key is read (the rest are whole numbers ≥ 1).
_PARSERS: dict[str, Callable[[str, object], Any]] = {
    "top_tier_models": lambda _n, v: _patterns(v),
    "feature_tolerance": lambda _n, v: _tolerances(v),
    "eval_tolerance": lambda n, v: _decimal(n, v, _ZERO, _ONE),
    "volatile_share": lambda n, v: _decimal(n, v, _ZERO, _ONE),
    "system_share": lambda n, v: _decimal(n, v, _ZERO, _ONE),
    "system_growth_ratio": lambda n, v: _decimal(n, v, _ONE),
    "system_share_growth_ratio": lambda n, v: _decimal(n, v, _ONE),
    "top_tier_min_input_usd_per_mtok": lambda n, v: None if v is None else _decimal(n, v, _ZERO),
    "min_monthly_saving_usd": lambda n, v: _decimal(n, v, _ZERO),
    "input_norm_factor": lambda n, v: _int(n, v, 2),
}


def parse_waste_settings(raw: object) -> WasteSettings:
    """`WasteSettings` from the ``optimize`` section (None: the defaults)."""
    if raw is None:
        return WasteSettings()
    if not isinstance(raw, Mapping):
        raise WasteConfigError("optimize", "must be a mapping of detector thresholds")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise WasteConfigError(f"optimize.{unknown[0]}", f"unknown key; known: {', '.join(_KEYS)}")
    values: dict[str, Any] = {
        name: _PARSERS.get(name, _whole)(name, value) for name, value in raw.items()
    }
    settings = WasteSettings(**values)
    if settings.trim_top_k >= settings.max_chunks:
        raise WasteConfigError(
            "optimize.trim_top_k",
            f"must be below optimize.max_chunks ({settings.max_chunks}), got {settings.trim_top_k}",
        )
    if settings.system_share_growth_ratio > settings.system_growth_ratio:
        raise WasteConfigError(
            "optimize.system_share_growth_ratio",
            "must not exceed optimize.system_growth_ratio "
            f"({settings.system_growth_ratio}), got {settings.system_share_growth_ratio}",
        )
    return settings


__all__ = ["WasteConfigError", "WasteSettings", "parse_waste_settings"]
