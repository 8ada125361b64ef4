"""Each detector on hand-built traffic: fires on its pattern with the exact saving
(computed here from the price table) and stays silent on clean traffic of the same shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from aifinops.optimize.waste.report import WasteQuery, waste_document
from aifinops.optimize.waste_settings import WasteSettings
from aifinops.pricing import PricingEngine
from tests.optimize.waste_helpers import (
    ALL,
    DAY,
    add_evals,
    calls,
    monthly,
    nusd,
    record,
    waste,
)

SONNET = "claude-sonnet-4-5"


# --- no_prompt_caching --------------------------------------------------------------


def test_repeated_prefix_without_caching(ledger: Engine) -> None:
    # 40 calls one a minute from 10:00: minutes 0-39 touch 8 five-minute slots
    record(
        ledger,
        calls(
            40,
            feature="leads",
            model=SONNET,
            input_tokens=10_000,
            output_tokens=100,
            system_tokens=8_000,
            system_hash="s1",
            prefix_hash="p1",
        ),
    )
    [finding] = waste(ledger, "no_prompt_caching")
    uncached = nusd(SONNET, input=40 * 8_000)
    cached = nusd(SONNET, cache_write_5m=8 * 8_000, cache_read=32 * 8_000)
    saving = uncached - cached
    assert finding.saving_nusd == saving == 960_000_000 - (240_000_000 + 76_800_000)
    assert finding.monthly_saving_usd == Decimal(monthly(saving, 1)) == Decimal("19.30")
    assert (finding.team, finding.feature, finding.prompt_version) == ("growth", "leads", "v1")
    assert finding.evidence["calls"] == 40
    assert finding.evidence["prefix_tokens"] == 8_000
    assert finding.evidence["cache_writes_assumed"] == 8
    assert finding.evidence["example_event_ids"] == ["leads-00000"]
    assert "× 30 / 1" in finding.method and "8 calls' worth" in finding.method


def test_cached_or_short_prefixes_are_clean(ledger: Engine) -> None:
    cached = calls(
        40,
        feature="leads",
        model=SONNET,
        input_tokens=2_000,
        cache_read_tokens=8_000,
        output_tokens=100,
        system_tokens=8_000,
        system_hash="s1",
        prefix_hash="p1",
    )
    short = calls(
        40,
        feature="short",
        model=SONNET,
        input_tokens=1_500,
        output_tokens=100,
        system_tokens=900,  # under Sonnet's 1,024-token minimum
        system_hash="s2",
        prefix_hash="p2",
    )
    record(ledger, cached, short)
    assert waste(ledger, "no_prompt_caching") == []


def test_volatile_prefix_too_sparse_to_cache_is_not_reported(ledger: Engine) -> None:
    rows = calls(
        24,
        feature="alerts",
        model=SONNET,
        every=timedelta(minutes=5),  # 10:00 .. 11:55: one call in each of 24 slots
        input_tokens=6_000,
        output_tokens=50,
        system_tokens=5_000,
        system_hash="stable",
    )
    for i, row in enumerate(rows):
        row["prefix_hash"] = f"ts-{i}"
    record(ledger, rows)
    # one call per 5-minute slot: every call would need its own cache write, so caching
    # could not save anything and nothing is reported
    assert waste(ledger, "no_prompt_caching") == []


def test_volatile_prefix_with_a_busy_system_prompt(ledger: Engine) -> None:
    rows = calls(
        60,
        feature="alerts",
        model=SONNET,
        every=timedelta(seconds=20),  # 10:00:00 .. 10:19:40: 4 slots
        input_tokens=6_000,
        output_tokens=50,
        system_tokens=5_000,
        system_hash="stable",
    )
    for i, row in enumerate(rows):
        row["prefix_hash"] = f"ts-{i}"
    record(ledger, rows)
    [finding] = waste(ledger, "no_prompt_caching")
    saving = nusd(SONNET, input=60 * 5_000) - nusd(
        SONNET, cache_write_5m=4 * 5_000, cache_read=56 * 5_000
    )
    assert finding.saving_nusd == saving
    assert finding.evidence["distinct_prefixes"] == 60
    assert finding.method.startswith("Volatile prefix: 60 distinct prefix hashes")


def test_volatile_system_prompt_keeps_its_size(ledger: Engine) -> None:
    # a timestamp inside the system prompt: both hashes change on every call
    rows = calls(
        60,
        feature="alerts",
        model=SONNET,
        every=timedelta(seconds=20),
        input_tokens=6_000,
        output_tokens=50,
        system_tokens=5_000,
    )
    for i, row in enumerate(rows):
        row["prefix_hash"] = row["system_hash"] = f"ts-{i}"
    record(ledger, rows)
    [finding] = waste(ledger, "no_prompt_caching")
    assert finding.evidence["distinct_system_prompts"] == 60
    assert finding.saving_nusd == nusd(SONNET, input=60 * 5_000) - nusd(
        SONNET, cache_write_5m=4 * 5_000, cache_read=56 * 5_000
    )


def test_distinct_prompts_of_different_sizes_are_not_volatile(ledger: Engine) -> None:
    rows = calls(
        60,
        feature="rag",
        model=SONNET,
        every=timedelta(seconds=20),
        input_tokens=9_000,
        output_tokens=50,
    )
    for i, row in enumerate(rows):
        row["prefix_hash"] = row["system_hash"] = f"doc-{i}"
        row["system_tokens"] = 2_000 + 100 * i  # each call's own document, not a timestamp
    record(ledger, rows)
    assert waste(ledger, "no_prompt_caching") == []


# --- overpowered_model --------------------------------------------------------------


def _triage(ledger: Engine) -> None:
    record(
        ledger,
        calls(
            100, feature="triage", model="claude-opus-4-1", input_tokens=10_000, output_tokens=200
        ),
    )


def test_overpowered_model_with_a_cheaper_model_within_tolerance(ledger: Engine) -> None:
    _triage(ledger)
    # Sonnet and Haiku are both within 0.02: the cheaper one (Haiku) is the candidate
    add_evals(
        ledger, "triage", {"claude-opus-4-1": "0.96", SONNET: "0.96", "claude-haiku-4-5": "0.95"}
    )
    [finding] = waste(ledger, "overpowered_model")
    now = nusd("claude-opus-4-1", input=100 * 10_000, output=100 * 200)
    then = nusd("claude-haiku-4-5", input=100 * 10_000, output=100 * 200)
    assert finding.saving_nusd == now - then == 16_500_000_000 - 1_100_000_000
    assert finding.monthly_saving_usd == Decimal(monthly(now - then, 1)) == Decimal("462.00")
    assert finding.evidence["candidate_model"] == "claude-haiku-4-5"
    assert finding.evidence["current_score"] == "0.96"
    assert finding.evidence["candidate_score"] == "0.95"
    assert "claude-haiku-4-5" in finding.fix


def test_overpowered_model_silent_when_no_cheaper_model_is_good_enough(ledger: Engine) -> None:
    _triage(ledger)
    add_evals(
        ledger, "triage", {"claude-opus-4-1": "0.96", SONNET: "0.93", "claude-haiku-4-5": "0.90"}
    )
    assert waste(ledger, "overpowered_model") == []


def test_top_tier_model_without_eval_justification(ledger: Engine) -> None:
    _triage(ledger)
    [finding] = waste(ledger, "overpowered_model", settings=WasteSettings())
    assert finding.monthly_saving_usd == Decimal("0.00")
    assert "without eval justification" in finding.method
    assert "aifinops import evals" in finding.fix


def test_a_model_that_is_not_top_tier_is_never_flagged(ledger: Engine) -> None:
    record(
        ledger, calls(100, feature="triage", model=SONNET, input_tokens=10_000, output_tokens=200)
    )
    add_evals(ledger, "triage", {SONNET: "0.96", "claude-haiku-4-5": "0.96"})
    assert waste(ledger, "overpowered_model") == []


def test_a_model_priced_like_the_top_tier_is_top_tier(ledger: Engine) -> None:
    # o1 matches no default name pattern; its list input price is $15 per million
    record(
        ledger,
        calls(
            100,
            feature="plan",
            model="o1",
            provider="openai",
            input_tokens=10_000,
            output_tokens=200,
        ),
    )
    [finding] = waste(ledger, "overpowered_model", settings=WasteSettings())
    assert finding.evidence["model"] == "o1"
    assert "without eval justification" in finding.method
    names_only = WasteSettings(top_tier_min_input_usd_per_mtok=None)
    assert waste(ledger, "overpowered_model", settings=names_only) == []
    above = WasteSettings(top_tier_min_input_usd_per_mtok=Decimal("15.01"))
    assert waste(ledger, "overpowered_model", settings=above) == []


# --- system_prompt_growth -----------------------------------------------------------


def _versions(ledger: Engine, second_system: int, other: int = 1_000) -> None:
    """v1 sends an 8,000-token system prompt, v2 ``second_system``; both add ``other``
    input tokens (the system prompt takes 8,000 ÷ (8,000 + other) of v1's input)."""
    ten = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC)
    v1 = calls(
        50,
        feature="summary",
        model=SONNET,
        input_tokens=8_000 + other,
        output_tokens=100,
        system_tokens=8_000,
        system_hash="a",
        prefix_hash="a",
        cache_read_tokens=0,
    )
    v2 = calls(
        50,
        feature="summary",
        model=SONNET,
        tag="b",
        start=ten + timedelta(hours=2),
        input_tokens=second_system + other,
        output_tokens=100,
        system_tokens=second_system,
        system_hash="b",
        prefix_hash="b",
    )
    for row in v2:
        row["prompt_version"] = "v2"
    record(ledger, v1, v2)


def test_system_prompt_growth_across_versions(ledger: Engine) -> None:
    _versions(ledger, 12_000)
    [finding] = waste(ledger, "system_prompt_growth")
    growth = 50 * (12_000 - 8_000)
    # v2's input cost × growth ÷ v2's input tokens: all uncached here, so the growth
    # costs plain input
    v2_input = 50 * 13_000
    saving = nusd(SONNET, input=v2_input) * growth // v2_input
    assert saving == nusd(SONNET, input=growth) == 600_000_000
    assert finding.saving_nusd == saving
    assert finding.prompt_version == "v2"
    assert finding.evidence["growth_tokens"] == growth
    assert finding.evidence["growth_ratio"] == "1.50"
    assert [v["mean_system_tokens"] for v in finding.evidence["versions"]] == [8_000, 12_000]
    assert [v["first_hour"] for v in finding.evidence["versions"]] == [
        "2026-11-02T10:00:00Z",
        "2026-11-02T12:00:00Z",
    ]


def test_a_small_change_across_versions_is_clean(ledger: Engine) -> None:
    _versions(ledger, 8_400)  # +5%: under both the 25% and the 10% threshold
    assert waste(ledger, "system_prompt_growth") == []


def test_a_prompt_taking_most_of_the_input_fires_at_the_lower_ratio(ledger: Engine) -> None:
    _versions(ledger, 9_000)  # +12.5%, and 9,000 of v2's 10,000 input tokens
    [finding] = waste(ledger, "system_prompt_growth")
    growth = 50 * 1_000
    assert finding.saving_nusd == nusd(SONNET, input=growth) == 150_000_000
    assert finding.evidence["growth_ratio"] == "1.12"
    assert finding.evidence["latest_system_share_of_input"] == "0.90"
    assert "takes 90% of the input" in finding.method
    # the same growth on a prompt under half the input is not a finding, nor is it with
    # the share rule turned off (a share of 1 is never reached here)
    assert (
        waste(
            ledger,
            "system_prompt_growth",
            WasteSettings(min_monthly_saving_usd=Decimal(0), system_share=Decimal(1)),
        )
        == []
    )


def test_the_same_growth_on_a_prompt_under_half_the_input_is_clean(ledger: Engine) -> None:
    _versions(ledger, 9_000, other=10_000)  # +12.5%; 9,000 of 19,000 input tokens
    assert waste(ledger, "system_prompt_growth") == []


def _growing_days(ledger: Engine, later_system: int, other: int = 1_000) -> None:
    for day in range(14):
        start = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC) + timedelta(days=day)
        system = 4_000 if day < 7 else later_system
        rows = calls(
            10,
            feature="memo",
            model=SONNET,
            start=start,
            tag=f"d{day}",
            input_tokens=system + other,
            output_tokens=100,
            system_tokens=system,
            system_hash=f"s{system}",
            prefix_hash=f"p{system}",
        )
        record(ledger, rows)


def test_system_prompt_growth_within_one_version_over_time(ledger: Engine) -> None:
    _growing_days(ledger, 6_000)
    last = DAY + timedelta(days=13)
    [finding] = waste(ledger, "system_prompt_growth", end=last)
    growth = 7 * 10 * (6_000 - 4_000)
    assert finding.evidence["growth_tokens"] == growth
    assert finding.evidence["baseline_days"] == ["2026-11-02", "2026-11-08"]
    assert finding.evidence["recent_mean_system_tokens"] == 6_000
    # uncached input: the growth costs plain input, day by day
    assert finding.saving_nusd == nusd(SONNET, input=growth) == 420_000_000
    assert finding.monthly_saving_usd == Decimal(monthly(420_000_000, 14)) == Decimal("0.90")
    assert finding.method.startswith("Within prompt version v1")


def test_over_time_a_prompt_taking_most_of_the_input_fires_at_the_lower_ratio(
    ledger: Engine,
) -> None:
    _growing_days(ledger, 4_600)  # +15%; 4,600 of 5,600 input tokens in the last 7 days
    last = DAY + timedelta(days=13)
    [finding] = waste(ledger, "system_prompt_growth", end=last)
    growth = 7 * 10 * 600
    assert finding.saving_nusd == nusd(SONNET, input=growth) == 126_000_000
    assert finding.evidence["recent_system_share_of_input"] == "0.82"


def test_over_time_the_same_growth_under_half_the_input_is_clean(ledger: Engine) -> None:
    _growing_days(ledger, 4_600, other=6_000)
    assert waste(ledger, "system_prompt_growth", end=DAY + timedelta(days=13)) == []


def test_a_steady_system_prompt_over_time_is_clean(ledger: Engine) -> None:
    _growing_days(ledger, 4_000)
    assert waste(ledger, "system_prompt_growth", end=DAY + timedelta(days=13)) == []


# --- context_bloat ------------------------------------------------------------------


def _stuffed(ledger: Engine, chunks: int = 40) -> None:
    """10 gpt-4.1 calls of 21,000 input tokens (1,000 of them system) and ``chunks``
    context chunks each."""
    record(
        ledger,
        calls(
            10,
            feature="health",
            model="gpt-4.1",
            input_tokens=21_000,
            output_tokens=500,
            system_tokens=1_000,
            context_chunks=chunks,
        ),
    )


def test_context_bloat(ledger: Engine) -> None:
    _stuffed(ledger)
    [finding] = waste(ledger, "context_bloat")
    trimmed = 10 * 20_000 * (400 - 10 * 10) // 400
    assert trimmed == 150_000
    assert finding.saving_nusd == nusd("gpt-4.1", input=trimmed) == 300_000_000
    assert finding.evidence["mean_chunks"] == "40.0"
    assert finding.evidence["trimmed_tokens"] == trimmed


def test_context_bloat_reports_many_chunks_once(ledger: Engine) -> None:
    # a few normal calls beside the stuffed ones: the input-norm variant would fire on
    # them too, but a key the chunk variant reported is not counted twice
    record(
        ledger,
        calls(
            10,
            feature="health",
            model="gpt-4.1",
            input_tokens=21_000,
            output_tokens=500,
            system_tokens=1_000,
            context_chunks=100,
        ),
        calls(
            30,
            feature="health",
            model="gpt-4.1",
            tag="small",
            input_tokens=2_000,
            output_tokens=500,
            system_tokens=1_000,
            context_chunks=2,
        ),
    )
    [finding] = waste(ledger, "context_bloat")
    assert finding.evidence["variant"] == "many_chunks"
    assert finding.evidence["mean_chunks"] == "26.5"  # (10 × 100 + 30 × 2) ÷ 40
    # with the chunk threshold out of reach the same calls are far above their norm
    loose = WasteSettings(min_monthly_saving_usd=Decimal(0), max_chunks=200)
    [other] = waste(ledger, "context_bloat", loose)
    assert other.evidence["variant"] == "input_above_norm"


def _norm_traffic(ledger: Engine, big_input: int) -> None:
    """60 calls of 3,000 input tokens (normal: under 4,096) and 5 of ``big_input``, with
    no chunk count (the client sends one long prompt)."""
    record(
        ledger,
        calls(60, feature="answers", model=SONNET, input_tokens=3_000, output_tokens=200),
        calls(
            5, feature="answers", model=SONNET, tag="big", input_tokens=big_input, output_tokens=200
        ),
    )


def test_input_far_above_the_feature_norm(ledger: Engine) -> None:
    _norm_traffic(ledger, 40_000)
    [finding] = waste(ledger, "context_bloat")
    # normal N = 4,096 (top of the median's bucket); far above: from the first edge
    # ≥ 4 × 4,096 = 16,384; trimmed to N each
    trimmed = 5 * 40_000 - 5 * 4_096
    assert trimmed == 179_520
    assert finding.saving_nusd == nusd(SONNET, input=trimmed) == 538_560_000
    assert finding.evidence == {
        "variant": "input_above_norm",
        "model": SONNET,
        "calls": 65,
        "normal_input_tokens": 4_096,
        "threshold_input_tokens": 16_384,
        "calls_far_above": 5,
        "far_above_input_tokens": 200_000,
        "trimmed_tokens": trimmed,
        "example_event_ids": ["answers-00000"],
    }
    assert "179,520 tokens" in finding.method


def test_input_a_little_above_the_norm_is_clean(ledger: Engine) -> None:
    _norm_traffic(ledger, 16_383)  # just under 4 × the norm's edge
    assert waste(ledger, "context_bloat") == []
    # and a higher factor keeps even the 40,000-token calls normal (8 × 4,096 = 32,768
    # is still below them; 16 × is not)
    settings = WasteSettings(min_monthly_saving_usd=Decimal(0), input_norm_factor=16)
    assert waste(ledger, "context_bloat", settings) == []


def test_few_chunks_are_clean(ledger: Engine) -> None:
    _stuffed(ledger, chunks=8)
    assert waste(ledger, "context_bloat") == []


# --- no_max_tokens ------------------------------------------------------------------


def test_no_max_tokens_with_runaway_outputs(ledger: Engine) -> None:
    normal = calls(
        90,
        feature="drafts",
        model="gpt-4o-mini",
        input_tokens=1_000,
        output_tokens=300,
        max_tokens=None,
    )
    runaway = calls(
        10,
        feature="drafts",
        model="gpt-4o-mini",
        tag="r",
        input_tokens=1_000,
        output_tokens=5_000,
        max_tokens=None,
        stop_reason="length",
    )
    record(ledger, normal, runaway)
    [finding] = waste(ledger, "no_max_tokens")
    excess = 10 * (5_000 - 2_048)  # the cap: 4 × 512 (the median's bucket top)
    assert finding.saving_nusd == nusd("gpt-4o-mini", output=excess) == 17_712_000
    assert finding.evidence["suggested_max_tokens"] == 2_048
    assert finding.evidence["calls_over_cap"] == 10
    assert finding.evidence["stopped_by_length"] == 10
    assert finding.evidence["excess_output_tokens"] == excess


def test_capped_or_normal_outputs_are_clean(ledger: Engine) -> None:
    uncapped_normal = calls(
        100,
        feature="drafts",
        model="gpt-4o-mini",
        input_tokens=1_000,
        output_tokens=300,
        max_tokens=None,
    )
    capped_long = calls(
        10,
        feature="reports",
        model="gpt-4o-mini",
        input_tokens=1_000,
        output_tokens=5_000,
        max_tokens=8_000,
    )
    record(ledger, uncapped_normal, capped_long)
    assert waste(ledger, "no_max_tokens") == []


# --- all together -------------------------------------------------------------------


def test_monthly_scaling_and_the_minimum(ledger: Engine) -> None:
    _stuffed(ledger)
    [finding] = waste(ledger, "context_bloat", end=DAY + timedelta(days=9))
    assert finding.monthly_saving_usd == Decimal(monthly(300_000_000, 10)) == Decimal("0.90")
    assert "× 30 / 10" in finding.method
    # a minimum above it leaves it out
    above = WasteSettings(min_monthly_saving_usd=Decimal("0.91"))
    assert waste(ledger, "context_bloat", settings=above, end=DAY + timedelta(days=9)) == []


def test_a_range_running_into_the_future_is_scaled_over_the_days_so_far(
    ledger: Engine,
) -> None:
    _stuffed(ledger)
    month = WasteQuery(DAY, DAY + timedelta(days=27))  # "--month current" on DAY + 1
    with ledger.connect() as conn:
        doc = waste_document(conn, PricingEngine(), ALL, month, today=DAY + timedelta(days=1))
    [finding] = doc["findings"]
    assert finding["monthly_saving_usd"] == monthly(300_000_000, 2) == "4.50"
    assert "× 30 / 2" in finding["method"]
    assert (doc["meta"]["to"], doc["meta"]["days"]) == ("2026-11-03", 2)
    # a range wholly in the past or the future is left as it is
    assert month.elapsed(DAY + timedelta(days=40)) == month
    assert month.elapsed(DAY - timedelta(days=1)) == month


def test_replaying_the_same_events_adds_nothing(ledger: Engine) -> None:
    rows = calls(
        10,
        feature="health",
        model="gpt-4.1",
        input_tokens=21_000,
        output_tokens=500,
        system_tokens=1_000,
        context_chunks=40,
    )
    record(ledger, rows)
    record(ledger, rows)
    [finding] = waste(ledger, "context_bloat")
    assert finding.evidence["calls_with_chunks"] == 10
