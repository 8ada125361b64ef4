"""`run_gate`: read both sides, compute their figures and decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.gate.decide import Verdict, decide
from aifinops.gate.document import gate_document
from aifinops.gate.evalrun import eval_sample
from aifinops.gate.figures import compare, side_figures
from aifinops.gate.policy import GatePolicy
from aifinops.gate.samples import Sample, SampleError, ledger_sample
from aifinops.gate.selection import Selection
from aifinops.optimize.evals import load_evals
from aifinops.pricing.engine import PricingEngine


@dataclass(frozen=True, slots=True)
class GateRun:
    document: dict[str, Any]
    verdict: Verdict
    team: str | None


def _side(
    engine: Engine | None,
    pricing: PricingEngine,
    feature: str,
    selection: Selection,
    window: tuple[date, date],
) -> Sample:
    if selection.is_eval:
        return eval_sample(selection, feature, pricing)
    if engine is None:
        raise SampleError(f"{selection.text}: a ledger selection needs the ledger")
    return ledger_sample(engine, feature, selection, *window)


def run_gate(
    engine: Engine | None,
    pricing: PricingEngine,
    feature: str,
    baseline: Selection,
    candidate: Selection,
    window: tuple[date, date],
    policy: GatePolicy,
) -> GateRun:
    base = _side(engine, pricing, feature, baseline, window)
    cand = _side(engine, pricing, feature, candidate, window)
    fb, fc = side_figures(base), side_figures(cand)
    changes = compare(base, cand, fb, fc, policy.confidence)
    verdict = decide(fb, fc, changes, policy)
    teams = base.teams | cand.teams
    team = next(iter(teams)) if len(teams) == 1 else None
    document = gate_document(feature, base, cand, fb, fc, changes, policy, verdict)
    if engine is not None:
        document["evals"] = imported_evals(engine, feature, base.models | cand.models)
    return GateRun(document, verdict, team)


def imported_evals(engine: Engine, feature: str, models: set[str]) -> list[dict[str, Any]]:
    """The feature's imported eval scores (``aifinops import evals``) of the sides' models,
    latest run of each, shown beside the figures."""
    return [
        {
            "model": r.model,
            "prompt_version": r.prompt_version,
            "metric": r.metric,
            "score": str(r.score),
            "sample_size": r.sample_size,
            "run_date": r.run_date.isoformat() if r.run_date else None,
        }
        for r in sorted(
            load_evals(engine, feature),
            key=lambda r: (r.model, r.prompt_version or "", r.metric or ""),
        )
        if r.model in models
    ]
