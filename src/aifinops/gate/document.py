"""The gate's JSON document (``--format json``, ``/api/v1/gates``): one shape everywhere."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aifinops.gate.decide import Verdict
from aifinops.gate.figures import Change, SideFigures
from aifinops.gate.policy import GatePolicy
from aifinops.gate.samples import Sample
from aifinops.money import nusd_to_usd

MONEY = ("cost_per_call", "cost_per_successful_outcome")


def _usd(nusd: float | None) -> str | None:
    return None if nusd is None else nusd_to_usd(round(nusd))


def _num(value: float | None, places: int = 6) -> float | None:
    return None if value is None else round(value, places)


def side_document(sample: Sample, figures: SideFigures) -> dict[str, Any]:
    values = asdict(figures)
    out: dict[str, Any] = {
        "selection": sample.label,
        "source": sample.source,
        "models": sorted(sample.models),
    }
    if sample.start is not None and sample.end is not None:
        out["from"], out["to"] = sample.start.isoformat(), sample.end.isoformat()
    for key, value in values.items():
        if key.endswith("_nusd"):
            out[key.removesuffix("_nusd") + "_usd"] = _usd(value)
        elif isinstance(value, float):
            out[key] = _num(value, 2 if key.endswith(("_per_call", "_ms")) else 6)
        else:
            out[key] = value
    return out


def change_document(change: Change) -> dict[str, Any]:
    money = change.metric in MONEY
    name = f"{change.metric}_usd" if money else change.metric
    fmt = _usd if money else _num
    interval = None
    if change.interval is not None:
        interval = {
            "low": _num(change.interval.low),
            "high": _num(change.interval.high),
            "of": change.interval_of,
        }
    return {
        "metric": name,
        "baseline": fmt(change.baseline),
        "candidate": fmt(change.candidate),
        "change": fmt(change.change),
        "relative_change": _num(change.relative_change),
        "interval": interval,
        "method": change.method,
    }


def gate_document(
    feature: str,
    base: Sample,
    cand: Sample,
    fb: SideFigures,
    fc: SideFigures,
    changes: list[Change],
    policy: GatePolicy,
    verdict: Verdict,
) -> dict[str, Any]:
    return {
        "feature": feature,
        "baseline": side_document(base, fb),
        "candidate": side_document(cand, fc),
        "changes": [change_document(c) for c in changes],
        "confidence": policy.confidence,
        "policy": policy.as_dict(),
        "checks": [asdict(c) for c in verdict.checks],
        "verdict": verdict.verdict,
        "exit_code": verdict.exit_code,
    }
