"""The gate's policy: how much dearer, worse or slower a change may be, and how sure.

A YAML or JSON file (``--policy``); every key is optional::

    max_cost_increase: 0.10        # cost per call and per successful outcome, +10 % at most
    min_quality_change: -0.01      # quality may fall one point at most (0..1 scale)
    max_latency_increase: 0.25     # p50 latency, +25 % at most; null turns the check off
    min_sample: 30                 # calls (and outcomes) per side before deciding
    allow_cost_increase_if_outcome_cost_falls: false
    confidence: 0.95               # of the intervals

Fractions may also be written as percentages (``"10%"``). ``null`` turns a check off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True, slots=True)
class GatePolicy:
    max_cost_increase: float | None = 0.10
    min_quality_change: float | None = -0.01
    max_latency_increase: float | None = 0.25
    min_sample: int = 30
    allow_cost_increase_if_outcome_cost_falls: bool = False
    confidence: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_cost_increase": self.max_cost_increase,
            "min_quality_change": self.min_quality_change,
            "max_latency_increase": self.max_latency_increase,
            "min_sample": self.min_sample,
            "allow_cost_increase_if_outcome_cost_falls": (
                self.allow_cost_increase_if_outcome_cost_falls
            ),
            "confidence": self.confidence,
        }


_FRACTIONS = ("max_cost_increase", "min_quality_change", "max_latency_increase")


def _fraction(key: str, value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PolicyError(
        f'{where}: {key}: {value!r} is not a fraction; write e.g. 0.10 or "10%" (or null)'
    )


_ALLOW = "allow_cost_increase_if_outcome_cost_falls"


def _min_sample(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise PolicyError(f"{where}: min_sample: {value!r} must be a whole number, 2 or more")
    return value


def _confidence(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value < 1:
        raise PolicyError(f"{where}: confidence: {value!r} must be between 0.5 and 1 (e.g. 0.95)")
    return float(value)


def parse_policy(data: object, where: str = "policy") -> GatePolicy:
    if data is None:
        return GatePolicy()
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: must be a mapping of policy keys (see docs/gate.md)")
    known = set(GatePolicy.__dataclass_fields__)
    for key in data:
        if key not in known:
            raise PolicyError(
                f"{where}: unknown key {key!r}; use one of {', '.join(sorted(known))}"
            )
    values: dict[str, Any] = {
        key: _fraction(key, data[key], where) for key in _FRACTIONS if key in data
    }
    if "min_sample" in data:
        values["min_sample"] = _min_sample(data["min_sample"], where)
    if _ALLOW in data:
        if not isinstance(data[_ALLOW], bool):
            raise PolicyError(f"{where}: {_ALLOW}: {data[_ALLOW]!r} must be true or false")
        values[_ALLOW] = data[_ALLOW]
    if "confidence" in data:
        values["confidence"] = _confidence(data["confidence"], where)
    return GatePolicy(**values)


def load_policy(path: Path | None) -> GatePolicy:
    if path is None:
        return GatePolicy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    return parse_policy(data, str(path))
