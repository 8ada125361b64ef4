"""Routing policy per feature and the pure routing decision.

A policy (one entry of the config's ``routing:`` list)::

    routing:
      - feature: ticket-triage
        candidates: [claude-opus-4-1, claude-sonnet-4-5, claude-haiku-4-5]
        mode: auto                    # auto: only for model "auto"; enforce: every call
        fallback: claude-sonnet-4-5   # auto only: the model when no candidate meets the bar
        current_model: claude-opus-4-1  # informational (what-if's "from")
        prompt_version: v2            # optional: only scores of this prompt version
        quality_bar:
          min_score: 0.90             # an absolute bar ...
          baseline_model: claude-opus-4-1   # ... or one relative to a model's own score
          tolerance: 0.02             # (alias max_drop)
          metric: routing_accuracy    # optional
          min_sample_size: 200        # optional: smaller eval runs are ignored

``allowed_models`` is accepted for ``candidates`` (the synthetic company's file uses it).

The decision, precisely: the threshold is ``min_score − tolerance``, or with
``baseline_model`` the baseline's own score ``− tolerance``. A candidate qualifies when
it is a model of the route's provider, has a price, and its score ≥ the threshold. The
winner is the qualifying candidate with the lowest cost of the feature's token profile
at current effective prices; ties go to the higher score, then to the model name
(alphabetical). A candidate's score: its eval rows for the feature (the policy's metric
and prompt version when set, sample size ≥ ``min_sample_size``); per metric the latest
run (then the highest prompt version); across metrics the lowest (it must meet the bar
on each). With no eval row, the feature's outcome success rate over the last 30 days
stands in for the model that served most of its calls (metric ``outcome_success``),
unless the policy names another metric. No qualifying candidate → no model (the caller
keeps the requested one, or for ``auto`` uses ``fallback``), and the reason says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

MODES: tuple[str, ...] = ("auto", "enforce")
AUTO_MODEL = "auto"
OUTCOME_METRIC = "outcome_success"

_KEYS = (
    "feature",
    "candidates",
    "allowed_models",
    "mode",
    "fallback",
    "current_model",
    "prompt_version",
    "quality_bar",
)
_BAR_KEYS = (
    "min_score",
    "baseline_model",
    "tolerance",
    "max_drop",
    "metric",
    "min_sample_size",
)


class RoutingConfigError(ValueError):
    """A bad routing policy; ``field`` names it (``routing[0].quality_bar.min_score``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    feature: str
    candidates: tuple[str, ...]
    mode: str = "auto"
    fallback: str | None = None
    current_model: str | None = None
    prompt_version: str | None = None
    min_score: Decimal | None = None
    baseline_model: str | None = None
    tolerance: Decimal = Decimal(0)
    metric: str | None = None
    min_sample_size: int = 0
    where: str = "routing"

    def bar_text(self) -> str:
        base = str(self.min_score) if self.min_score is not None else f"{self.baseline_model}"
        return f"{base} - {self.tolerance}" if self.tolerance else base


class Score(Protocol):
    """An eval result (`aifinops.optimize.evals.EvalRecord` fits)."""

    @property
    def feature(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def prompt_version(self) -> str | None: ...
    @property
    def metric(self) -> str | None: ...
    @property
    def score(self) -> Decimal: ...
    @property
    def sample_size(self) -> int: ...
    @property
    def run_date(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class OutcomeScore:
    """The feature's outcome success rate, standing in for the model it ran on."""

    feature: str
    model: str
    score: Decimal
    sample_size: int
    prompt_version: str | None = None
    metric: str | None = OUTCOME_METRIC
    run_date: date | None = None


@dataclass(frozen=True, slots=True)
class Considered:
    model: str
    score: Decimal | None
    cost_nusd: int | None  # of the whole token profile
    qualifies: bool
    note: str  # why not, or "meets the bar"


@dataclass(frozen=True, slots=True)
class Decision:
    feature: str
    provider: str
    model: str | None  # None: no candidate meets the bar
    score: Decimal | None
    threshold: Decimal | None
    reason: str
    considered: tuple[Considered, ...] = ()


# --- parsing --------------------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RoutingConfigError(f"{where}.{key}", f"must be a non-empty string, got {value!r}")
    return value.strip()


def _score(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise RoutingConfigError(where, f"must be a number from 0 to 1, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RoutingConfigError(where, f"{value!r} is not a number") from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(1):
        raise RoutingConfigError(where, f"must be a number from 0 to 1, got {value}")
    return number


def _candidates(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    if "candidates" in raw and "allowed_models" in raw:
        raise RoutingConfigError(
            f"{where}.allowed_models", "give candidates or allowed_models, not both"
        )
    key = "candidates" if "candidates" in raw else "allowed_models"
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise RoutingConfigError(
            f"{where}.candidates", "is required: a non-empty list of model names"
        )
    out: list[str] = []
    for i, model in enumerate(value):
        if not isinstance(model, str) or not model.strip():
            raise RoutingConfigError(f"{where}.{key}[{i}]", f"must be a model name, got {model!r}")
        if model.strip() == AUTO_MODEL:
            raise RoutingConfigError(f"{where}.{key}[{i}]", '"auto" cannot be a candidate')
        out.append(model.strip())
    return tuple(dict.fromkeys(out))


def _bar(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise RoutingConfigError(
            where, "is required: a mapping with min_score or baseline_model (and tolerance)"
        )
    unknown = sorted(set(raw) - set(_BAR_KEYS))
    if unknown:
        raise RoutingConfigError(
            f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(_BAR_KEYS)}"
        )
    if ("min_score" in raw) == ("baseline_model" in raw):
        raise RoutingConfigError(
            where,
            "give exactly one of min_score (an absolute bar) or baseline_model (the bar is "
            "that model's own score)",
        )
    if "tolerance" in raw and "max_drop" in raw:
        raise RoutingConfigError(f"{where}.max_drop", "give tolerance or max_drop, not both")
    drop = raw.get("tolerance", raw.get("max_drop", 0))
    tol_key = "max_drop" if "max_drop" in raw else "tolerance"
    sample = raw.get("min_sample_size", 0)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise RoutingConfigError(
            f"{where}.min_sample_size", f"must be a whole number ≥ 0, got {sample!r}"
        )
    return {
        "min_score": None
        if raw.get("min_score") is None
        else _score(raw["min_score"], f"{where}.min_score"),
        "baseline_model": _text(raw, "baseline_model", where),
        "tolerance": _score(drop, f"{where}.{tol_key}"),
        "metric": _text(raw, "metric", where),
        "min_sample_size": sample,
    }


def _policy(raw: object, where: str) -> RoutingPolicy:
    if not isinstance(raw, Mapping):
        raise RoutingConfigError(where, "must be a mapping with feature, candidates, quality_bar")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise RoutingConfigError(f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(_KEYS)}")
    feature = _text(raw, "feature", where)
    if feature is None:
        raise RoutingConfigError(f"{where}.feature", "is required (the feature it routes)")
    mode = raw.get("mode", "auto")
    if mode not in MODES:
        raise RoutingConfigError(f"{where}.mode", f"{mode!r} is not one of auto, enforce")
    fallback = _text(raw, "fallback", where)
    if fallback is not None and mode != "auto":
        raise RoutingConfigError(
            f"{where}.fallback", "only applies to mode: auto (enforce keeps the requested model)"
        )
    return RoutingPolicy(
        feature=feature,
        candidates=_candidates(raw, where),
        mode=str(mode),
        fallback=fallback,
        current_model=_text(raw, "current_model", where),
        prompt_version=_text(raw, "prompt_version", where),
        where=where,
        **_bar(raw.get("quality_bar"), f"{where}.quality_bar"),
    )


def parse_routing(section: object) -> tuple[RoutingPolicy, ...]:
    """The ``routing:`` section (a list, or absent) → one policy per feature."""
    if section is None:
        return ()
    if not isinstance(section, list):
        raise RoutingConfigError("routing", "must be a list of per-feature policies")
    out: list[RoutingPolicy] = []
    for i, raw in enumerate(section):
        policy = _policy(raw, f"routing[{i}]")
        if any(p.feature == policy.feature for p in out):
            raise RoutingConfigError(
                f"routing[{i}].feature", f"{policy.feature!r} has two policies; keep one"
            )
        out.append(policy)
    return tuple(out)


# --- which provider serves a model ----------------------------------------------------

_OPENAI = re.compile(r"^(gpt-|o\d|chatgpt-|text-embedding-|codex-|davinci|babbage|omni-)")


def model_provider(model: str) -> str | None:
    """``anthropic`` or ``openai`` from the model's name; None when it does not say."""
    name = model.strip().lower()
    if name.startswith("claude-"):
        return "anthropic"
    if _OPENAI.match(name):
        return "openai"
    return None


# --- scores ---------------------------------------------------------------------------

_NUMBERS = re.compile(r"(\d+)")


def _version_key(version: str | None) -> tuple[Any, ...]:
    """Natural order of prompt versions (v2 < v10); None first."""
    if not version:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in _NUMBERS.split(version))


def model_scores(policy: RoutingPolicy, scores: Iterable[Score]) -> dict[str, tuple[Decimal, str]]:
    """model → (score, where it comes from) for the policy's feature, per the rule above."""
    latest: dict[tuple[str, str], Score] = {}
    for s in scores:
        if s.feature != policy.feature or s.sample_size < policy.min_sample_size:
            continue
        metric = s.metric or ""
        if policy.metric is not None and metric != policy.metric:
            continue
        if policy.prompt_version is not None and s.prompt_version != policy.prompt_version:
            continue
        key = (s.model, metric)
        held = latest.get(key)
        if held is None or (s.run_date or date.min, _version_key(s.prompt_version)) > (
            held.run_date or date.min,
            _version_key(held.prompt_version),
        ):
            latest[key] = s
    out: dict[str, tuple[Decimal, str]] = {}
    for (model, _), s in sorted(latest.items()):
        where = f"{s.metric or 'score'} {s.score} (n={s.sample_size})"
        if model not in out or s.score < out[model][0]:
            out[model] = (s.score, where)
    return out


# --- the decision ---------------------------------------------------------------------

#: cost in nano-USD of the feature's token profile on (provider, model); None: no price
CostFn = Callable[[str, str], int | None]


def _threshold(
    policy: RoutingPolicy, scored: Mapping[str, tuple[Decimal, str]]
) -> tuple[Decimal | None, str]:
    if policy.min_score is not None:
        return policy.min_score - policy.tolerance, f"bar {policy.bar_text()}"
    base = scored.get(policy.baseline_model or "")
    if base is None:
        return None, f"no eval score for the baseline model {policy.baseline_model}"
    value = base[0] - policy.tolerance
    return value, f"bar {policy.baseline_model} {base[0]} - {policy.tolerance} = {value}"


def _consider(
    model: str,
    provider: str,
    scored: Mapping[str, tuple[Decimal, str]],
    threshold: Decimal | None,
    cost: CostFn,
) -> Considered:
    other = model_provider(model)
    if other is not None and other != provider:
        return Considered(model, None, None, False, f"{other} model: not on the {provider} route")
    found = scored.get(model)
    score = found[0] if found else None
    nusd = cost(provider, model)
    if nusd is None:
        return Considered(model, score, None, False, f"no {provider} price")
    if score is None:
        return Considered(model, None, nusd, False, "no eval score")
    if threshold is None or score < threshold:
        return Considered(model, score, nusd, False, "below the bar")
    return Considered(model, score, nusd, True, "meets the bar")


def decide(policy: RoutingPolicy, provider: str, scores: Sequence[Score], cost: CostFn) -> Decision:
    """The cheapest candidate of ``provider`` whose score meets the policy's bar."""
    scored = model_scores(policy, scores)
    threshold, bar = _threshold(policy, scored)
    considered = tuple(_consider(m, provider, scored, threshold, cost) for m in policy.candidates)
    winners = [c for c in considered if c.qualifies]
    if not winners:
        why = "; ".join(f"{c.model}: {c.note}" for c in considered)
        return Decision(
            policy.feature,
            provider,
            None,
            None,
            threshold,
            f"no candidate meets the {bar} ({why})",
            considered,
        )
    best = min(winners, key=lambda c: (c.cost_nusd, -(c.score or 0), c.model))
    reason = f"cheapest candidate meeting the {bar}: {best.model} {best.score}"
    return Decision(policy.feature, provider, best.model, best.score, threshold, reason, considered)
