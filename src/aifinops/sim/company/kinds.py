"""Call kinds: every (feature, prompt version, step) of the spec, flattened into arrays.

A generated call carries only its kind's index; everything static about it (model,
team, max_tokens, system prompt size and hashes, cache mode, token shape) is looked
up here with one vectorised index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from aifinops.sim.company.spec import (
    CACHE_TTL_S,
    ERRORS,
    FEATURES,
    LENGTH_STOP,
    MIN_CACHEABLE,
    MODELS,
    NATURAL_STOP,
    TEAM_BY_NAME,
    Feature,
    Step,
    Version,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
NULL = -1  # integer columns use -1 for JSON null


def stable_hash(*parts: str) -> str:
    """A short, stable hex digest standing in for the hash of a prompt's text."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Kind:
    feature: Feature
    version: Version
    step: Step

    @property
    def system_tokens(self) -> int | None:
        return self.version.system_tokens if self.step.uses_system else None

    @property
    def system_hash(self) -> str | None:
        if not self.step.uses_system:
            return None
        return stable_hash(self.feature.name, self.version.name, "system")

    @property
    def prefix_hash(self) -> str | None:
        if not self.step.uses_system:
            return None
        return stable_hash(self.feature.name, self.version.name, self.step.model, "prefix")

    def attribution_json(self) -> str:
        """The static identity and attribution fields of the JSON line."""
        model = MODELS[self.step.model]
        return _fields(
            provider=model.provider,
            model=model.name,
            requested_model=model.name,
            endpoint=model.endpoint,
            service_tier=model.service_tier,
            batch=False,
            team=self.feature.team,
            feature=self.feature.name,
            prompt_version=self.version.name,
            api_key_id=TEAM_BY_NAME[self.feature.team].api_key_id,
        )

    def shape_json(self) -> str:
        """The static request-shape fields of the JSON line."""
        return _fields(
            max_tokens=self.step.max_tokens,
            system_tokens=self.system_tokens,
            system_hash=self.system_hash,
            prefix_hash=self.prefix_hash,
        )


def _fields(**values: object) -> str:
    return json.dumps(values, separators=(",", ":"))[1:-1]


@dataclass(frozen=True)
class KindTable:
    """Per-kind columns, indexed by a call's kind code."""

    kinds: tuple[Kind, ...]
    base: dict[tuple[int, int], int]  # (feature index, version index) -> first kind
    feature: I64
    n_steps: I64
    input_median: F64
    input_sigma: F64
    output_median: F64
    output_sigma: F64
    max_tokens: I64  # NULL when not sent
    chunks_lo: I64  # NULL when the call has no retrieved context
    chunks_hi: I64
    chunk_tokens: I64
    system_tokens: I64  # 0 when there is no system prompt
    runaway: F64
    ttft_ms: F64
    tokens_per_s: F64
    max_output: I64
    cache_ttl_ms: I64  # 0: no caching for this kind
    explicit_cache: npt.NDArray[np.bool_]  # Anthropic cache_control (writes billed)
    cache_1h: npt.NDArray[np.bool_]
    cacheable_tokens: I64  # the part of the prefix a warm cache serves
    provider_code: I64  # index into PROVIDERS
    model_code: I64  # index into MODEL_NAMES
    tier_code: I64  # index into SERVICE_TIERS


PROVIDERS: tuple[str, ...] = ("anthropic", "openai")
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
SERVICE_TIERS: tuple[str, ...] = tuple(sorted({m.service_tier for m in MODELS.values()}))


def _cacheable(step: Step, system: int) -> int:
    """Tokens of the prefix served from cache when warm (0 when the kind never caches)."""
    if step.cache == "none" or not step.uses_system:
        return 0
    minimum = MIN_CACHEABLE[step.model]
    if system < minimum:
        return 0
    if step.cache == "auto-24h":
        return system // 128 * 128
    return system


def _i64(values: list[int]) -> I64:
    return np.array(values, dtype=np.int64)


def _f64(values: list[float]) -> F64:
    return np.array(values, dtype=np.float64)


def _bool(values: list[bool]) -> npt.NDArray[np.bool_]:
    return np.array(values, dtype=np.bool_)


@cache
def kind_table() -> KindTable:
    """The table of every call kind of the spec, built once."""
    kinds: list[Kind] = []
    base: dict[tuple[int, int], int] = {}
    for fi, feature in enumerate(FEATURES):
        for vi, version in enumerate(feature.versions):
            base[(fi, vi)] = len(kinds)
            kinds.extend(Kind(feature, version, step) for step in feature.steps)
    steps = [k.step for k in kinds]
    models = [MODELS[s.model] for s in steps]
    cacheable = [_cacheable(k.step, k.version.system_tokens) for k in kinds]
    ttl = [
        CACHE_TTL_S.get(s.cache, 0) * 1000 if c else 0
        for s, c in zip(steps, cacheable, strict=True)
    ]
    feature_index = {f.name: i for i, f in enumerate(FEATURES)}
    table = KindTable(
        kinds=tuple(kinds),
        base=base,
        feature=_i64([feature_index[k.feature.name] for k in kinds]),
        n_steps=_i64([len(k.feature.steps) for k in kinds]),
        input_median=_f64([s.input_median for s in steps]),
        input_sigma=_f64([s.input_sigma for s in steps]),
        output_median=_f64(
            [s.output_median * k.version.output_factor for s, k in zip(steps, kinds, strict=True)]
        ),
        output_sigma=_f64([s.output_sigma for s in steps]),
        max_tokens=_i64([NULL if s.max_tokens is None else s.max_tokens for s in steps]),
        chunks_lo=_i64([NULL if s.chunks is None else s.chunks[0] for s in steps]),
        chunks_hi=_i64([NULL if s.chunks is None else s.chunks[1] for s in steps]),
        chunk_tokens=_i64([s.chunk_tokens for s in steps]),
        system_tokens=_i64([k.system_tokens or 0 for k in kinds]),
        runaway=_f64([s.runaway for s in steps]),
        ttft_ms=_f64([m.ttft_ms for m in models]),
        tokens_per_s=_f64([m.tokens_per_s for m in models]),
        max_output=_i64([m.max_output for m in models]),
        cache_ttl_ms=_i64(ttl),
        explicit_cache=_bool([s.cache in ("5m", "1h") for s in steps]),
        cache_1h=_bool([s.cache == "1h" for s in steps]),
        cacheable_tokens=_i64(cacheable),
        provider_code=_i64([PROVIDERS.index(m.provider) for m in models]),
        model_code=_i64([MODEL_NAMES.index(m.name) for m in models]),
        tier_code=_i64([SERVICE_TIERS.index(m.service_tier) for m in models]),
    )
    for value in vars(table).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)  # shared by every caller: read-only
    return table


@dataclass(frozen=True, slots=True)
class Result:
    """How a call ended: HTTP status, stop reason and error type (a JSON fragment each)."""

    provider: str
    status: int
    stop_reason: str | None
    error_type: str | None
    share: float = 0.0  # of a provider's failures

    def json(self) -> str:
        return _fields(stop_reason=self.stop_reason, status=self.status, error_type=self.error_type)


#: Offsets of the successful results within a provider's block of `RESULTS`.
NATURAL, LENGTH, NO_STOP = 0, 1, 2


def _results() -> tuple[tuple[Result, ...], I64]:
    results: list[Result] = []
    base: list[int] = []
    for provider in PROVIDERS:
        base.append(len(results))
        results.append(Result(provider, 200, NATURAL_STOP[provider], None))
        results.append(Result(provider, 200, LENGTH_STOP[provider], None))
        results.append(Result(provider, 200, None, None))
        results.extend(Result(provider, s, None, e, share) for s, e, share in ERRORS[provider])
    return tuple(results), _i64(base)


RESULTS, RESULT_BASE = _results()
RESULT_FAILED: npt.NDArray[np.bool_] = _bool([r.status != 200 for r in RESULTS])
RESULT_BASE.setflags(write=False)
RESULT_FAILED.setflags(write=False)
