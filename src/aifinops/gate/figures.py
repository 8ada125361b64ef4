"""The figures of each side of a gate and how the candidate differs from the baseline."""

from __future__ import annotations

from dataclasses import dataclass

from aifinops.gate import stats
from aifinops.gate.samples import Sample

METHODS: dict[str, str] = {
    "relative": "delta method on the log of the ratio of means (normal quantile)",
    "mean": "Welch's unequal-variance interval for the difference of means (normal quantile)",
    "proportion": "Newcombe's hybrid score interval for the difference of proportions",
    "none": "no interval (quantiles are reported as measured)",
}


@dataclass(frozen=True, slots=True)
class SideFigures:
    calls: int
    priced_calls: int
    cost_per_call_nusd: float | None
    input_tokens_per_call: float | None
    output_tokens_per_call: float | None
    cache_read_tokens_per_call: float | None
    cache_write_tokens_per_call: float | None
    cache_hit_rate: float | None
    latency_calls: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    outcomes: int
    open_units: int
    successes: int
    success_rate: float | None
    quality_outcomes: int
    mean_quality: float | None
    cost_per_successful_outcome_nusd: float | None


@dataclass(frozen=True, slots=True)
class Change:
    metric: str
    baseline: float | None
    candidate: float | None
    change: float | None  # candidate - baseline
    relative_change: float | None  # candidate / baseline - 1
    interval: stats.Interval | None
    interval_of: str  # "relative" | "change" | "none"
    method: str


def _per_call(sample: Sample, attribute: str) -> float | None:
    if not sample.calls:
        return None
    return stats.mean([getattr(call, attribute) for call in sample.calls])


def side_figures(sample: Sample) -> SideFigures:
    costs = [c.cost_nusd for c in sample.calls if c.cost_nusd is not None]
    latencies = [float(c.latency_ms) for c in sample.calls if c.latency_ms is not None]
    prompt = sum(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens for c in sample.calls)
    cache_read = sum(c.cache_read_tokens for c in sample.calls)
    units = sample.units
    successes = sum(1 for u in units if u.success)
    qualities = [u.quality for u in units if u.quality is not None]
    return SideFigures(
        calls=len(sample.calls),
        priced_calls=len(costs),
        cost_per_call_nusd=stats.mean(costs) if costs else None,
        input_tokens_per_call=_per_call(sample, "input_tokens"),
        output_tokens_per_call=_per_call(sample, "output_tokens"),
        cache_read_tokens_per_call=_per_call(sample, "cache_read_tokens"),
        cache_write_tokens_per_call=_per_call(sample, "cache_write_tokens"),
        cache_hit_rate=cache_read / prompt if prompt else None,
        latency_calls=len(latencies),
        latency_p50_ms=stats.quantile(latencies, 0.5) if latencies else None,
        latency_p95_ms=stats.quantile(latencies, 0.95) if latencies else None,
        outcomes=len(units),
        open_units=sample.open_units,
        successes=successes,
        success_rate=successes / len(units) if units else None,
        quality_outcomes=len(qualities),
        mean_quality=stats.mean(qualities) if qualities else None,
        cost_per_successful_outcome_nusd=(
            sum(u.cost_nusd for u in units) / successes if successes else None
        ),
    )


def _change(metric: str, a: float | None, b: float | None) -> tuple[float | None, float | None]:
    if a is None or b is None:
        return None, None
    return b - a, (b / a - 1 if a else None)


def _relative(
    metric: str,
    a: float | None,
    b: float | None,
    var_a: float | None,
    var_b: float | None,
    confidence: float,
) -> Change:
    change, relative = _change(metric, a, b)
    interval = None
    if relative is not None and b and var_a is not None and var_b is not None:
        interval = stats.relative_change_interval(relative + 1, var_a, var_b, confidence)
    return Change(metric, a, b, change, relative, interval, "relative", METHODS["relative"])


def _plain(metric: str, a: float | None, b: float | None) -> Change:
    change, relative = _change(metric, a, b)
    return Change(metric, a, b, change, relative, None, "none", METHODS["none"])


def compare(
    base: Sample, cand: Sample, fb: SideFigures, fc: SideFigures, confidence: float
) -> list[Change]:
    """Every figure side by side, with an interval where the data allow one."""
    changes: list[Change] = []
    costs_a = [float(c.cost_nusd) for c in base.calls if c.cost_nusd is not None]
    costs_b = [float(c.cost_nusd) for c in cand.calls if c.cost_nusd is not None]
    changes.append(
        _relative(
            "cost_per_call",
            fb.cost_per_call_nusd,
            fc.cost_per_call_nusd,
            stats.log_ratio_variance(costs_a) if len(costs_a) > 1 else None,
            stats.log_ratio_variance(costs_b) if len(costs_b) > 1 else None,
            confidence,
        )
    )
    changes.append(_cpso(base, cand, fb, fc, confidence))
    changes.append(_success(fb, fc, confidence))
    changes.append(_quality(base, cand, fb, fc, confidence))
    for metric in (
        "input_tokens_per_call",
        "output_tokens_per_call",
        "cache_read_tokens_per_call",
        "cache_write_tokens_per_call",
        "cache_hit_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    ):
        changes.append(_plain(metric, getattr(fb, metric), getattr(fc, metric)))
    return changes


def _cpso(base: Sample, cand: Sample, fb: SideFigures, fc: SideFigures, conf: float) -> Change:
    def log_var(sample: Sample) -> float | None:
        if len(sample.units) < 2:
            return None
        costs = [float(u.cost_nusd) for u in sample.units]
        wins = [1.0 if u.success else 0.0 for u in sample.units]
        return stats.log_ratio_variance(costs, wins)

    return _relative(
        "cost_per_successful_outcome",
        fb.cost_per_successful_outcome_nusd,
        fc.cost_per_successful_outcome_nusd,
        log_var(base),
        log_var(cand),
        conf,
    )


def _success(fb: SideFigures, fc: SideFigures, confidence: float) -> Change:
    change, relative = _change("success_rate", fb.success_rate, fc.success_rate)
    interval = None
    if fb.outcomes and fc.outcomes:
        interval = stats.newcombe_difference(
            fb.successes, fb.outcomes, fc.successes, fc.outcomes, confidence
        )
    return Change(
        "success_rate",
        fb.success_rate,
        fc.success_rate,
        change,
        relative,
        interval,
        "change",
        METHODS["proportion"],
    )


def _quality(base: Sample, cand: Sample, fb: SideFigures, fc: SideFigures, conf: float) -> Change:
    change, relative = _change("mean_quality", fb.mean_quality, fc.mean_quality)
    qa = [u.quality for u in base.units if u.quality is not None]
    qb = [u.quality for u in cand.units if u.quality is not None]
    interval = stats.welch_difference(qa, qb, conf) if len(qa) > 1 and len(qb) > 1 else None
    return Change(
        "mean_quality",
        fb.mean_quality,
        fc.mean_quality,
        change,
        relative,
        interval,
        "change",
        METHODS["mean"],
    )
