"""Pass, fail or not enough data: the gate's checks under a policy.

Checks, each ``pass`` / ``fail`` / ``insufficient`` / ``skipped``:

1. ``sample``: at least ``min_sample`` calls per side, and as many outcomes per side
   when the quality check is on; otherwise not enough data (exit 3, never a pass).
2. ``cost_per_call``: the relative change is at most ``max_cost_increase``; a larger
   rise passes only when the policy allows it and cost per successful outcome falls
   clearly (the whole interval of its relative change below zero).
3. ``cost_per_successful_outcome``: the relative change is at most ``max_cost_increase``.
4. ``quality``: the change of mean quality (or of the success rate where no side carries
   quality scores) is at least ``min_quality_change``.
5. ``latency``: the relative change of p50 latency is at most ``max_latency_increase``;
   skipped when either side has no latencies.

Verdict: ``insufficient`` (exit 3) when any check lacks data, else ``fail`` (exit 1) when
any check fails, else ``pass`` (exit 0). Limits compare point estimates; the intervals
are reported beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aifinops.gate.figures import Change, SideFigures
from aifinops.gate.policy import GatePolicy

EXIT_CODES = {"pass": 0, "fail": 1, "insufficient": 3}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # pass | fail | insufficient | skipped
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str
    exit_code: int
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> list[str]:
        return [c.detail for c in self.checks if c.status == self.verdict != "pass"]


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def _sample(fb: SideFigures, fc: SideFigures, policy: GatePolicy) -> Check:
    need = policy.min_sample
    sizes = f"baseline {fb.calls} calls, candidate {fc.calls} calls"
    if fb.calls < need or fc.calls < need:
        return Check("sample", "insufficient", f"{sizes}; at least {need} per side needed")
    if policy.min_quality_change is not None and (fb.outcomes < need or fc.outcomes < need):
        return Check(
            "sample",
            "insufficient",
            f"baseline {fb.outcomes} outcomes, candidate {fc.outcomes} outcomes; at least "
            f"{need} per side needed for the quality check (import outcomes, or set "
            "min_quality_change: null to decide on cost alone)",
        )
    if not fb.priced_calls or not fc.priced_calls:
        return Check("sample", "insufficient", "a side has no priced calls; see `aifinops price`")
    return Check("sample", "pass", f"{sizes}; {fb.outcomes} and {fc.outcomes} outcomes")


def _by_metric(changes: list[Change]) -> dict[str, Change]:
    return {c.metric: c for c in changes}


def _cost(changes: dict[str, Change], policy: GatePolicy) -> Check:
    limit = policy.max_cost_increase
    cost = changes["cost_per_call"]
    if limit is None:
        return Check("cost_per_call", "skipped", "max_cost_increase is null")
    if cost.relative_change is None:
        return Check("cost_per_call", "insufficient", "cost per call unknown on a side")
    rise = cost.relative_change
    if rise <= limit:
        return Check("cost_per_call", "pass", f"cost per call {_pct(rise)} (limit {_pct(limit)})")
    cpso = changes["cost_per_successful_outcome"]
    if policy.allow_cost_increase_if_outcome_cost_falls:
        if cpso.interval is not None and cpso.interval.high < 0:
            return Check(
                "cost_per_call",
                "pass",
                f"cost per call {_pct(rise)} above the limit {_pct(limit)}, allowed: cost "
                f"per successful outcome falls {_pct(cpso.relative_change or 0)} (interval "
                f"{_pct(cpso.interval.low)} to {_pct(cpso.interval.high)})",
            )
        return Check(
            "cost_per_call",
            "fail",
            f"cost per call {_pct(rise)} above the limit {_pct(limit)}, and cost per "
            "successful outcome does not clearly fall",
        )
    return Check(
        "cost_per_call", "fail", f"cost per call {_pct(rise)} above the limit {_pct(limit)}"
    )


def _outcome_cost(changes: dict[str, Change], policy: GatePolicy) -> Check:
    limit = policy.max_cost_increase
    cpso = changes["cost_per_successful_outcome"]
    name = "cost_per_successful_outcome"
    if limit is None:
        return Check(name, "skipped", "max_cost_increase is null")
    if cpso.relative_change is None:
        if policy.min_quality_change is None:
            return Check(name, "skipped", "no outcomes on a side; quality check is off")
        return Check(name, "insufficient", "no successful outcome on a side")
    rise = cpso.relative_change
    status = "pass" if rise <= limit else "fail"
    return Check(name, status, f"cost per successful outcome {_pct(rise)} (limit {_pct(limit)})")


def _quality(
    changes: dict[str, Change], fb: SideFigures, fc: SideFigures, policy: GatePolicy
) -> Check:
    floor = policy.min_quality_change
    if floor is None:
        return Check("quality", "skipped", "min_quality_change is null")
    use_scores = fb.quality_outcomes > 0 and fc.quality_outcomes > 0
    change = changes["mean_quality" if use_scores else "success_rate"]
    label = "mean quality" if use_scores else "success rate"
    if change.change is None:
        return Check("quality", "insufficient", f"{label} unknown on a side")
    status = "pass" if change.change >= floor else "fail"
    return Check(
        "quality",
        status,
        f"{label} {change.change * 100:+.1f} points (at least {floor * 100:+.1f} needed)",
    )


def _latency(changes: dict[str, Change], policy: GatePolicy) -> Check:
    limit = policy.max_latency_increase
    p50 = changes["latency_p50_ms"]
    if limit is None:
        return Check("latency", "skipped", "max_latency_increase is null")
    if p50.relative_change is None:
        return Check("latency", "skipped", "latency not known on both sides")
    status = "pass" if p50.relative_change <= limit else "fail"
    return Check(
        "latency", status, f"p50 latency {_pct(p50.relative_change)} (limit {_pct(limit)})"
    )


def decide(fb: SideFigures, fc: SideFigures, changes: list[Change], policy: GatePolicy) -> Verdict:
    by = _by_metric(changes)
    sample = _sample(fb, fc, policy)
    if sample.status == "insufficient":
        checks: tuple[Check, ...] = (sample,)
    else:
        checks = (
            sample,
            _cost(by, policy),
            _outcome_cost(by, policy),
            _quality(by, fb, fc, policy),
            _latency(by, policy),
        )
    statuses = {c.status for c in checks}
    verdict = (
        "insufficient" if "insufficient" in statuses else "fail" if "fail" in statuses else "pass"
    )
    return Verdict(verdict, EXIT_CODES[verdict], checks)
