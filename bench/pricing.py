"""Pricing throughput: `price_many` vs `genai_prices.calc_price` per event, same events, one run.

    .venv/bin/python bench/pricing.py [--events 1000000] [--repeat 7] [--seed 1]

Builds N synthetic events over every Anthropic, OpenAI and Bedrock text model in the
pinned genai-prices data (plus 1% calls to an unknown model), random usage with cache
reads/writes, long-context sizes, service tiers and batch, on random dates in 2025–2026.
Then, on the same events:

1. `price_many` on dictionary-encoded columns (as Arrow/pandas hold them), repeated;
2. `price_many` on plain string columns (encoding included);
3. the single-event engine (`PricingEngine.price`) in a Python loop;
4. `genai_prices.calc_price` called once per event, timed per call;

and checks that every list cost equals genai-prices' to within 1e-9 USD.
Prints a Markdown report (machine, versions, figures) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
import numpy as np

from aifinops.pricing import PricingEngine, price_context
from aifinops.pricing.bulk import COUNT_COLUMNS, Categorical, price_many
from aifinops.pricing.catalog import GENAI_PROVIDER
from aifinops.usage import Usage

TIERS = ["default", "flex", "priority", "batch"]


def make_events(engine: PricingEngine, n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    models = [*engine.catalog.text_models(), ("openai", "acme-private-ft-1")]
    weights = np.full(len(models), 0.99 / (len(models) - 1))
    weights[-1] = 0.01
    mi = rng.choice(len(models), size=n, p=weights)
    providers = sorted({p for p, _ in models})
    pcode = np.array([providers.index(p) for p, _ in models])[mi]

    def sometimes(p: float, hi: int) -> np.ndarray:
        return rng.integers(0, hi, n) * (rng.random(n) < p)

    long_ctx = rng.random(n) < 0.05
    return {
        "provider": Categorical(pcode, providers),
        "model": Categorical(mi, [m for _, m in models]),
        "ts": np.datetime64("2025-01-01") + rng.integers(0, 730 * 86_400, n).astype("m8[s]"),
        "input_tokens": np.where(
            long_ctx, rng.integers(150_000, 400_000, n), rng.integers(0, 8_000, n)
        ),
        "cache_read_tokens": sometimes(0.4, 60_000),
        "cache_write_5m_tokens": sometimes(0.15, 8_000),
        "cache_write_1h_tokens": sometimes(0.05, 8_000),
        "output_tokens": rng.integers(0, 4_000, n),
        "web_search_requests": sometimes(0.03, 5),
        "service_tier": Categorical(rng.integers(-1, len(TIERS), n), TIERS),
        "batch": rng.random(n) < 0.05,
    }


def plain_columns(cols: dict[str, Any]) -> dict[str, Any]:
    out = dict(cols)
    for name in ("provider", "model", "service_tier"):
        cat = cols[name]
        cats = np.array([*cat.categories, None], dtype=object)
        out[name] = cats[cat.codes].tolist()
    return out


def row_args(cols: dict[str, Any], i: int) -> tuple[str, str, datetime, Usage, str | None, bool]:
    t = cols["service_tier"]
    tier = t.categories[t.codes[i]] if t.codes[i] >= 0 else None
    ts = cols["ts"][i].astype(datetime).replace(tzinfo=UTC)
    usage = Usage(
        input_tokens=int(cols["input_tokens"][i]),
        cache_read_tokens=int(cols["cache_read_tokens"][i]),
        cache_write_5m_tokens=int(cols["cache_write_5m_tokens"][i]),
        cache_write_1h_tokens=int(cols["cache_write_1h_tokens"][i]),
        output_tokens=int(cols["output_tokens"][i]),
        web_search_requests=int(cols["web_search_requests"][i]),
    )
    p, m = cols["provider"], cols["model"]
    return (
        p.categories[p.codes[i]],
        m.categories[m.codes[i]],
        ts,
        usage,
        tier,
        bool(cols["batch"][i]),
    )


def genai_cost(args: tuple[str, str, datetime, Usage, str | None, bool]) -> Decimal | None:
    provider, model, ts, u, tier, batch = args
    gp_usage = genai_prices.Usage(
        input_tokens=u.total_input_tokens,
        cache_read_tokens=u.cache_read_tokens,
        cache_write_tokens=u.cache_write_tokens,
        cache_write_5m_tokens=u.cache_write_5m_tokens,
        cache_write_1h_tokens=u.cache_write_1h_tokens,
        output_tokens=u.output_tokens,
        web_searches=u.web_search_requests,
    )
    try:
        return genai_prices.calc_price(
            gp_usage,
            model,
            provider_id=GENAI_PROVIDER[provider],
            genai_request_timestamp=ts,
            price_context=dict(price_context(tier, batch)) or None,
        ).total_price
    except LookupError:
        return None


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def time_bulk(engine: PricingEngine, cols: dict[str, Any], repeat: int) -> tuple[Any, list[float]]:
    runs = []
    priced = None
    for _ in range(repeat):
        t = time.perf_counter()
        priced = price_many(engine, cols)
        runs.append(time.perf_counter() - t)
    return priced, runs


def check_against_genai(
    rows: list[tuple[str, str, datetime, Usage, str | None, bool]], priced: Any
) -> dict[str, Any]:
    per_call_us: list[float] = []
    mismatches = unpriced_mismatch = 0
    worst = Decimal(0)
    nano = Decimal("1e-9")
    t_all = time.perf_counter()
    for i, r in enumerate(rows):
        t = time.perf_counter_ns()
        ref = genai_cost(r)
        per_call_us.append((time.perf_counter_ns() - t) / 1_000)
        ours = None if priced.unpriced[i] else int(priced.list_cost_nusd[i])
        if (ref is None) != (ours is None):
            unpriced_mismatch += 1
        elif ref is not None and ours is not None:
            diff = abs(Decimal(ours) * nano - ref)
            worst = max(worst, diff)
            mismatches += diff > nano
    return {
        "seconds": time.perf_counter() - t_all,
        "p50_us": pct(per_call_us, 50),
        "p99_us": pct(per_call_us, 99),
        "mismatches": mismatches,
        "unpriced_mismatch": unpriced_mismatch,
        "worst": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.events

    engine = PricingEngine()
    t0 = time.perf_counter()
    cols = make_events(engine, n, args.seed)
    build_s = time.perf_counter() - t0
    price_many(engine, cols)  # warm: compile every plan once
    priced, bulk_runs = time_bulk(engine, cols, args.repeat)
    _, plain_runs = time_bulk(engine, plain_columns(cols), 3)

    rows = [row_args(cols, i) for i in range(n)]
    t = time.perf_counter()
    for r in rows:
        engine.price(r[0], r[1], r[2], r[3], service_tier=r[4], batch=r[5])
    single_s = time.perf_counter() - t
    ref = check_against_genai(rows, priced)

    bulk_med = statistics.median(bulk_runs)
    genai_rate = n / ref["seconds"]
    pm = statistics.median(plain_runs)
    print(f"# Pricing benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(
        f"- command: `.venv/bin/python bench/pricing.py --events {n} --repeat {args.repeat} "
        f"--seed {args.seed}`"
    )
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}, {engine.catalog.version}"
    )
    print(
        f"- events: {n:,} over {len(cols['model'].categories)} models "
        f"({int(priced.unpriced.sum()):,} to an unknown model); built in {build_s:.2f} s\n"
    )
    print("| path | time for all events | events/s | vs genai-prices |")
    print("| --- | ---: | ---: | ---: |")
    table = [
        (
            f"`price_many`, dictionary-encoded columns (median of {args.repeat}; "
            f"min {min(bulk_runs):.3f} s, max {max(bulk_runs):.3f} s)",
            bulk_med,
        ),
        ("`price_many`, plain string columns (median of 3)", pm),
        ("`PricingEngine.price`, one call per event", single_s),
        ("`genai_prices.calc_price`, one call per event", ref["seconds"]),
    ]
    for label, seconds in table:
        rate = n / seconds
        print(f"| {label} | {seconds:.3f} s | {rate:,.0f} | {rate / genai_rate:,.1f}× |")
    print(f"\ngenai-prices per call: p50 {ref['p50_us']:.1f} µs, p99 {ref['p99_us']:.1f} µs.")
    print(
        f"\nResults: {ref['mismatches']} list costs differ from genai-prices by more than "
        f"1e-9 USD (largest difference {ref['worst']} USD); {ref['unpriced_mismatch']} "
        "disagree on being unpriced."
    )
    print(f"\nColumns priced: {', '.join(COUNT_COLUMNS)}, service_tier, batch, ts.")


if __name__ == "__main__":
    main()
