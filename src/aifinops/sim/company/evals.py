"""Offline eval scores per feature, model and prompt version (``evals.csv``).

Columns: ``feature``, ``model``, ``prompt_version``, ``metric`` (what the score measures),
``score`` (0–1, higher is better) and ``sample_size`` (cases scored).

Only ticket-triage has a cheaper model within tolerance of the one it runs on (Haiku
0.95 against Opus 0.96, n = 400); everywhere else the cheaper candidates score well
below the current model, so an honest router keeps them where they are.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

EVAL_FIELDS: tuple[str, ...] = (
    "feature",
    "model",
    "prompt_version",
    "metric",
    "score",
    "sample_size",
)


@dataclass(frozen=True, slots=True)
class EvalScore:
    feature: str
    model: str
    prompt_version: str
    metric: str
    score: str  # a decimal string, two places
    sample_size: int


def _rows(
    feature: str, version: str, metric: str, n: int, scores: dict[str, str]
) -> list[EvalScore]:
    return [EvalScore(feature, m, version, metric, s, n) for m, s in scores.items()]


EVALS: tuple[EvalScore, ...] = (
    *_rows(
        "ticket-resolution",
        "v7",
        "resolution_rate",
        500,
        {"claude-sonnet-4-5": "0.86", "claude-haiku-4-5": "0.74"},
    ),
    *(
        EvalScore("case-summary", "claude-haiku-4-5", v, "summary_acceptance", s, 300)
        for v, s in (("v1", "0.87"), ("v2", "0.81"), ("v3", "0.74"), ("v4", "0.66"))
    ),
    *_rows(
        "ticket-triage",
        "v2",
        "routing_accuracy",
        400,
        {"claude-opus-4-1": "0.96", "claude-sonnet-4-5": "0.96", "claude-haiku-4-5": "0.95"},
    ),
    *_rows(
        "lead-qualification",
        "v3",
        "qualification_accuracy",
        300,
        {"claude-sonnet-4-5": "0.84", "claude-haiku-4-5": "0.73"},
    ),
    *_rows(
        "email-drafting",
        "v5",
        "draft_acceptance",
        250,
        {"gpt-4o-mini": "0.80", "gpt-4.1-nano": "0.68"},
    ),
    *_rows(
        "account-health",
        "v2",
        "report_acceptance",
        200,
        {"gpt-4.1": "0.85", "gpt-4.1-mini": "0.77", "gpt-4o-mini": "0.69"},
    ),
    *_rows(
        "renewal-brief",
        "v4",
        "brief_acceptance",
        200,
        {"claude-sonnet-4-5": "0.62", "claude-haiku-4-5": "0.47"},
    ),
    *_rows("internal-search", "v1", "answer_acceptance", 400, {"gpt-4.1-nano": "0.80"}),
)


def evals_csv() -> str:
    """The eval table as CSV text (header first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVAL_FIELDS)
    for e in EVALS:
        writer.writerow([e.feature, e.model, e.prompt_version, e.metric, e.score, e.sample_size])
    return out.getvalue()
