"""Injected faults: which request fails, and how.

A fault is chosen per request, either by the ``x-sim-fault`` request header or by the
rules of a faults file (YAML or JSON, see docs/simulator.md). Rules are deterministic:
each rule counts the requests it matches (1, 2, 3, ...) and fires on

- ``every: N`` -- every Nth matching request (N, 2N, ...);
- ``first: N`` -- the first N matching requests;
- ``rate: p`` -- a request whose seeded hash of (seed, rule index, count) falls below p,

so the same sequence of requests meets the same faults on every run.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Faults that answer at once with an HTTP error status.
STATUS_FAULTS: Mapping[str, int] = {"429": 429, "500": 500, "503": 503, "529": 529}
#: Faults that only make sense on a streaming response.
STREAM_ONLY_FAULTS: frozenset[str] = frozenset({"malformed-sse", "truncated-stream"})
#: Every fault a rule may name; all but ``latency`` may also be sent in ``x-sim-fault``.
FAULT_KINDS: tuple[str, ...] = (
    *STATUS_FAULTS,
    "overloaded",
    "timeout",
    "reset",
    "malformed-sse",
    "truncated-stream",
    "latency",
)
HEADER_FAULT_KINDS: tuple[str, ...] = tuple(k for k in FAULT_KINDS if k != "latency")
ROUTES: tuple[str, ...] = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/messages",
    "/v1/messages/count_tokens",
)
PROVIDERS: tuple[str, ...] = ("openai", "anthropic")

_RULE_KEYS = frozenset(
    {"fault", "routes", "models", "providers", "rate", "every", "first", "retry_after", "delay_ms"}
)
_PLAN_KEYS = frozenset({"seed", "hang_seconds", "retry_after", "rules"})


class FaultConfigError(ValueError):
    """A faults file is invalid; the message names the field and the fix."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule of a faults file: which requests it matches and when it fires."""

    fault: str
    routes: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    rate: float | None = None
    every: int | None = None
    first: int | None = None
    retry_after: float = 1.0
    delay_ms: int = 0

    def matches(self, route: str, provider: str, model: str, stream: bool) -> bool:
        if self.fault in STREAM_ONLY_FAULTS and not stream:
            return False
        if self.routes and route not in self.routes:
            return False
        if self.providers and provider not in self.providers:
            return False
        return not self.models or any(fnmatch.fnmatchcase(model, p) for p in self.models)

    def fires(self, seed: int, index: int, count: int) -> bool:
        if self.every is not None:
            return count % self.every == 0
        if self.first is not None:
            return count <= self.first
        rate = self.rate if self.rate is not None else 1.0
        digest = hashlib.blake2b(f"{seed}:{index}:{count}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < rate


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults of one simulator: rules, their seed, and how long ``timeout`` hangs."""

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0
    hang_seconds: float = 300.0
    retry_after: float = 1.0


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault chosen for one request."""

    kind: str
    retry_after: float = 1.0
    delay_s: float = 0.0


class FaultState:
    """Per-app rule counters; decides the fault of each request in arrival order."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._counts = [0] * len(plan.rules)

    def choose(self, route: str, provider: str, model: str, stream: bool) -> Fault | None:
        """Count this request against every matching rule; the first rule that fires wins."""
        chosen: Fault | None = None
        for index, rule in enumerate(self.plan.rules):
            if not rule.matches(route, provider, model, stream):
                continue
            self._counts[index] += 1
            if chosen is None and rule.fires(self.plan.seed, index, self._counts[index]):
                chosen = Fault(rule.fault, rule.retry_after, rule.delay_ms / 1000)
        return chosen

    def from_header(self, value: str) -> Fault:
        """The fault a request asked for in ``x-sim-fault`` (validated by the caller)."""
        return Fault(value, self.plan.retry_after)


def _fail(where: str, problem: str) -> FaultConfigError:
    return FaultConfigError(f"{where}: {problem}")


def _str_list(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise _fail(where, f"must be a string or a list of strings, got {value!r}")
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise _fail(where, f"unknown value {item!r}; expected one of {', '.join(allowed)}")
    return tuple(items)


def _number(value: Any, where: str, *, integer: bool, low: float, high: float | None) -> float:
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if integer else "a number"
        raise _fail(where, f"must be {kind}, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise _fail(where, f"must be {bound}, got {value!r}")
    return float(value)


def _parse_rule(raw: Any, where: str, default_retry_after: float) -> FaultRule:
    if not isinstance(raw, dict):
        raise _fail(where, f"must be a mapping with at least 'fault', got {raw!r}")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key; expected one of {sorted(_RULE_KEYS)}")
    fault = str(raw.get("fault", ""))
    if fault not in FAULT_KINDS:
        raise _fail(f"{where}.fault", f"{fault!r} is not a fault; use one of {FAULT_KINDS}")
    triggers = [k for k in ("rate", "every", "first") if k in raw]
    if len(triggers) != 1:
        raise _fail(where, "give exactly one of 'rate', 'every' or 'first'")
    trigger = triggers[0]
    value = _number(
        raw[trigger],
        f"{where}.{trigger}",
        integer=trigger != "rate",
        low=0.0 if trigger == "rate" else 1.0,
        high=1.0 if trigger == "rate" else None,
    )
    delay = _number(raw.get("delay_ms", 0), f"{where}.delay_ms", integer=True, low=0, high=None)
    if fault == "latency" and delay == 0:
        raise _fail(f"{where}.delay_ms", "a 'latency' rule needs delay_ms > 0")
    return FaultRule(
        fault=fault,
        routes=_str_list(raw.get("routes", []), f"{where}.routes", ROUTES),
        models=_str_list(raw.get("models", []), f"{where}.models"),
        providers=_str_list(raw.get("providers", []), f"{where}.providers", PROVIDERS),
        rate=value if trigger == "rate" else None,
        every=int(value) if trigger == "every" else None,
        first=int(value) if trigger == "first" else None,
        retry_after=_number(
            raw.get("retry_after", default_retry_after),
            f"{where}.retry_after",
            integer=False,
            low=0,
            high=None,
        ),
        delay_ms=int(delay),
    )


def parse_fault_plan(data: Any, source: str = "faults") -> FaultPlan:
    """Validate a decoded faults document into a `FaultPlan`."""
    if data is None:
        return FaultPlan()
    if not isinstance(data, dict):
        raise _fail(source, "must be a mapping with a 'rules' list")
    unknown = sorted(set(data) - _PLAN_KEYS)
    if unknown:
        raise _fail(f"{source}.{unknown[0]}", f"unknown key; expected one of {sorted(_PLAN_KEYS)}")
    seed = int(_number(data.get("seed", 0), f"{source}.seed", integer=True, low=0, high=None))
    hang = _number(
        data.get("hang_seconds", 300), f"{source}.hang_seconds", integer=False, low=0, high=None
    )
    retry = _number(
        data.get("retry_after", 1), f"{source}.retry_after", integer=False, low=0, high=None
    )
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise _fail(f"{source}.rules", f"must be a list, got {raw_rules!r}")
    rules = tuple(_parse_rule(r, f"{source}.rules[{i}]", retry) for i, r in enumerate(raw_rules))
    return FaultPlan(rules=rules, seed=seed, hang_seconds=hang, retry_after=retry)


def load_fault_plan(path: Path) -> FaultPlan:
    """Read a faults file: JSON when it ends in ``.json``, YAML otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FaultConfigError(f"{path}: cannot read the faults file ({exc.strerror})") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise FaultConfigError(f"{path}: not valid {path.suffix or 'YAML'}: {exc}") from exc
    return parse_fault_plan(data, source=path.name)
