"""Hand-built eval runs with known figures.

claude-haiku-4-5 lists at $1 per million input tokens and $5 per million output
tokens, so a case of 1,000 input and 100 output tokens costs exactly $0.0015.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def case(
    success: bool,
    *,
    input_tokens: int = 1000,
    output_tokens: int = 100,
    score: float = 0.8,
    latency_ms: int | None = 500,
    model: str = "claude-haiku-4-5",
    provider: str = "anthropic",
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        "score": score,
        "success": success,
    }
    if latency_ms is not None:
        record["latency_ms"] = latency_ms
    return record


def run_file(path: Path, n: int, success_rate: float, **kwargs: Any) -> Path:
    """``n`` cases, the first ``round(n * success_rate)`` of them successful."""
    wins = round(n * success_rate)
    with path.open("w", encoding="utf-8") as stream:
        for i in range(n):
            stream.write(json.dumps(case(i < wins, **kwargs)) + "\n")
    return path
