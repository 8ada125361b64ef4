"""Regenerate src/aifinops/data/sample_day.jsonl (deterministic): `python tools/make_sample_day.py`.

A small day of mixed traffic for the foundation demo: Anthropic with prompt caching
(5-minute and 1-hour writes), OpenAI chat with cached prefixes and reasoning, an
embedding model, Bedrock through a US cross-region profile, one batch job, and a few
calls to a private model that has no public price (shown as unpriced, never $0).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "aifinops" / "data" / "sample_day.jsonl"
DAY = datetime(2026, 11, 27, tzinfo=UTC)

PROFILES = [
    # provider, model, team, feature, weight, input, cache_read, cw5m, cw1h, output, reasoning
    ("anthropic", "claude-sonnet-4-5", "support", "ticket-resolution", 30, 900, 6000, 0, 0, 600, 0),
    ("anthropic", "claude-haiku-4-5", "support", "case-summary", 25, 2500, 0, 0, 0, 300, 0),
    ("anthropic", "claude-opus-4-5", "support", "ticket-triage", 6, 1200, 0, 0, 0, 40, 0),
    ("anthropic", "claude-sonnet-4-5", "sales", "lead-qualification", 12, 7000, 0, 0, 0, 500, 0),
    ("openai", "gpt-4o-mini", "sales", "email-drafting", 20, 800, 0, 0, 0, 1400, 0),
    ("openai", "gpt-5", "success", "account-health", 8, 24000, 4096, 0, 0, 1800, 900),
    ("openai", "text-embedding-3-small", "platform", "internal-search", 25, 300, 0, 0, 0, 0, 0),
    (
        "bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "success",
        "renewal-brief",
        8,
        3000,
        0,
        0,
        0,
        900,
        0,
    ),
    ("openai", "acme-private-ft-1", "platform", "internal-search", 2, 500, 0, 0, 0, 100, 0),
]
CUSTOMERS = [f"cust-{i:03d}" for i in range(1, 13)]


def main() -> None:
    rng = random.Random(20261127)
    rows = []
    weights = [p[4] for p in PROFILES]
    for i in range(400):
        prof = rng.choices(PROFILES, weights)[0]
        provider, model, team, feature, _, inp, cr, cw5, cw1, out, reasoning = prof
        jitter = rng.uniform(0.6, 1.4)
        row = {
            "event_id": f"sample-{i:04d}",
            "ts": (DAY + timedelta(seconds=rng.randrange(86_400))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provider": provider,
            "model": model,
            "team": team,
            "feature": feature,
            "customer_id": rng.choice(CUSTOMERS),
            "input_tokens": int(inp * jitter),
            "cache_read_tokens": cr if rng.random() < 0.9 else 0,
            "cache_write_5m_tokens": cw5,
            "cache_write_1h_tokens": cw1,
            "output_tokens": int(out * jitter),
            "reasoning_tokens": min(int(reasoning * jitter), int(out * jitter)),
        }
        cold = row["cache_read_tokens"] == 0
        if model == "claude-sonnet-4-5" and feature == "ticket-resolution" and cold:
            row["cache_write_5m_tokens"] = 6000 if rng.random() < 0.7 else 0
            row["cache_write_1h_tokens"] = 6000 - row["cache_write_5m_tokens"]
        if feature == "email-drafting" and rng.random() < 0.25:
            row["batch"] = True
        rows.append(row)
    rows.sort(key=lambda r: r["ts"])
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
