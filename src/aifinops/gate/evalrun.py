"""An eval-run file as one side of a gate.

JSONL, one case per line::

    {"provider": "anthropic", "model": "claude-haiku-4-5",
     "usage": {"input_tokens": 812, "output_tokens": 64},
     "latency_ms": 640, "score": 0.93, "success": true}

``usage`` is the provider's own usage object, parsed by the project's adapters (the
OpenAI chat shape ``prompt_tokens``/``completion_tokens`` or the Responses shape
``input_tokens``/``output_tokens``, Anthropic Messages, Bedrock Converse
``inputTokens``/``outputTokens``). Optional: ``latency_ms``, ``feature`` (must be the
gated feature when given), ``ts`` (the pricing date; today by default), ``service_tier``,
``batch``. Each case is priced by the pricing engine, negotiated rates included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from aifinops.gate.samples import Call, Sample, SampleError, UnitResult
from aifinops.gate.selection import Selection
from aifinops.ingest.files import parse_json_line
from aifinops.pricing.engine import PricingEngine
from aifinops.providers import (
    parse_anthropic_usage,
    parse_bedrock_token_usage,
    parse_openai_chat_usage,
    parse_openai_responses_usage,
)
from aifinops.usage import PROVIDERS, RecordError, Usage

UsageParser = Callable[[Mapping[str, object]], Usage]


def _openai_usage(usage: Mapping[str, object]) -> Usage:
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return parse_openai_chat_usage(usage)
    return parse_openai_responses_usage(usage)


PARSERS: dict[str, UsageParser] = {
    "anthropic": parse_anthropic_usage,
    "openai": _openai_usage,
    "bedrock": parse_bedrock_token_usage,
}


def _bad(path: Path, line: int, field: str, reason: str) -> SampleError:
    return SampleError(f"{path} line {line}: {field}: {reason}")


def _str(case: Mapping[str, object], key: str, path: Path, line: int) -> str:
    value = case.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, line, key, "is required (a non-empty string)")
    return value.strip()


def _score(case: Mapping[str, object], path: Path, line: int) -> float:
    value = case.get("score")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(path, line, "score", "is required: a number between 0 and 1")
    if not 0 <= value <= 1:
        raise _bad(path, line, "score", f"{value} is outside 0..1; scale scores to 0..1")
    return float(value)


def _success(case: Mapping[str, object], path: Path, line: int) -> bool:
    value = case.get("success")
    if not isinstance(value, bool):
        raise _bad(path, line, "success", "is required: true or false")
    return value


def _latency(case: Mapping[str, object], path: Path, line: int) -> int | None:
    value = case.get("latency_ms")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad(path, line, "latency_ms", "must be a number of milliseconds, 0 or more")
    return round(value)


def _day(case: Mapping[str, object], path: Path, line: int) -> date:
    value = case.get("ts")
    if value is None:
        return datetime.now(UTC).date()
    if not isinstance(value, str):
        raise _bad(path, line, "ts", "must be an ISO-8601 date or time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise _bad(path, line, "ts", f"{value!r} is not an ISO-8601 date or time") from None


def _usage(case: Mapping[str, object], provider: str, path: Path, line: int) -> Usage:
    raw = case.get("usage")
    if not isinstance(raw, dict):
        raise _bad(path, line, "usage", "is required: the provider's own usage object")
    try:
        return PARSERS[provider](raw)
    except RecordError as exc:
        raise _bad(path, line, f"usage.{exc.field.removeprefix('usage.')}", exc.reason) from None


def eval_sample(selection: Selection, feature: str, pricing: PricingEngine) -> Sample:
    """Read and price every case of the eval-run file; the first bad line is an error."""
    assert selection.path is not None
    path = selection.path
    sample = Sample(label=selection.text, source="eval")
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise SampleError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        for number, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            row = parse_json_line(number, text)
            if row.data is None:
                raise SampleError(f"{path} line {number}: {row.error}")
            _add_case(sample, row.data, feature, pricing, path, number)
    if not sample.calls:
        raise SampleError(f"{path} holds no cases; write one JSON object per line")
    return sample


def _add_case(
    sample: Sample,
    case: Mapping[str, object],
    feature: str,
    pricing: PricingEngine,
    path: Path,
    line: int,
) -> None:
    provider = _str(case, "provider", path, line).lower()
    if provider not in PROVIDERS:
        raise _bad(path, line, "provider", f"{provider!r} is not one of {', '.join(PROVIDERS)}")
    model = _str(case, "model", path, line)
    case_feature = case.get("feature")
    if case_feature is not None and case_feature != feature:
        raise _bad(path, line, "feature", f"{case_feature!r} is not the gated feature {feature!r}")
    usage = _usage(case, provider, path, line)
    tier = case.get("service_tier")
    price = pricing.price(
        provider,
        model,
        _day(case, path, line),
        usage,
        service_tier=tier if isinstance(tier, str) else None,
        batch=case.get("batch") is True,
    )
    if price.effective_cost_nusd is None:
        raise _bad(
            path,
            line,
            "model",
            f"{provider} model {model!r} has no price in the catalog or the negotiated "
            "rates; use a model id the catalog knows (see `aifinops price`) or add its "
            "rate to the rates file",
        )
    score, success = _score(case, path, line), _success(case, path, line)
    sample.calls.append(
        Call(
            cost_nusd=price.effective_cost_nusd,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            latency_ms=_latency(case, path, line),
        )
    )
    sample.units.append(
        UnitResult(cost_nusd=price.effective_cost_nusd, success=success, quality=score)
    )
    sample.models.add(model)
