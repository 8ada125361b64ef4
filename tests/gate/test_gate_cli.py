"""`aifinops gate` on hand-built eval runs with known figures (the issue's cases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aifinops.cli import app
from tests.gate.helpers import case, run_file

runner = CliRunner()


def gate(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["gate", "--feature", "triage", *args])
    return result.exit_code, result.stdout, result.stderr


def gate_json(base: Path, cand: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = gate(
        "--baseline", f"eval:{base}", "--candidate", f"eval:{cand}", "--format", "json", *extra
    )
    assert out, err
    return code, json.loads(out)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)


@pytest.fixture
def policies(tmp_path: Path) -> tuple[Path, Path]:
    allow = tmp_path / "allow.yaml"
    allow.write_text("allow_cost_increase_if_outcome_cost_falls: true\n")
    strict = tmp_path / "strict.json"
    strict.write_text('{"allow_cost_increase_if_outcome_cost_falls": false}')
    return allow, strict


def checks(doc: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in doc["checks"]}


def changes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["metric"]: c for c in doc["changes"]}


def test_same_cost_and_quality_passes(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 100, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 100, 0.5)
    code, doc = gate_json(base, cand)
    assert code == 0
    assert doc["verdict"] == "pass" and doc["exit_code"] == 0
    assert set(checks(doc).values()) == {"pass"}
    side = doc["baseline"]
    assert side["calls"] == 100 and side["outcomes"] == 100 and side["successes"] == 50
    assert side["cost_per_call_usd"] == "0.001500000"
    assert side["cost_per_successful_outcome_usd"] == "0.003000000"
    assert side["success_rate"] == 0.5 and side["mean_quality"] == 0.8
    assert side["input_tokens_per_call"] == 1000 and side["output_tokens_per_call"] == 100
    assert side["latency_p50_ms"] == 500 and side["latency_p95_ms"] == 500
    cost = changes(doc)["cost_per_call_usd"]
    assert cost["relative_change"] == 0 and cost["change"] == "0.000000000"


def test_thirty_percent_dearer_without_quality_gain_fails(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 100, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 100, 0.5, input_tokens=1300, output_tokens=130)
    code, doc = gate_json(base, cand)
    assert code == 1 and doc["verdict"] == "fail"
    assert doc["candidate"]["cost_per_call_usd"] == "0.001950000"
    assert changes(doc)["cost_per_call_usd"]["relative_change"] == pytest.approx(0.3)
    assert checks(doc) == {
        "sample": "pass",
        "cost_per_call": "fail",
        "cost_per_successful_outcome": "fail",
        "quality": "pass",
        "latency": "pass",
    }


def test_dearer_calls_but_cheaper_outcomes_pass_only_when_the_policy_allows(
    tmp_path: Path, policies: tuple[Path, Path]
) -> None:
    allow, strict = policies
    base = run_file(tmp_path / "base.jsonl", 100, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 100, 0.9, input_tokens=1300, output_tokens=130)
    code, doc = gate_json(base, cand, "--policy", str(allow))
    assert code == 0 and doc["verdict"] == "pass"
    cpso = changes(doc)["cost_per_successful_outcome_usd"]
    # $0.00195 / 0.9 against $0.0015 / 0.5: 0.7222… - 1.
    assert cpso["relative_change"] == pytest.approx(0.00195 / 0.9 / 0.003 - 1, abs=1e-6)
    assert cpso["interval"]["high"] < 0 and cpso["interval"]["of"] == "relative"
    assert "allowed" in next(c["detail"] for c in doc["checks"] if c["name"] == "cost_per_call")
    code, doc = gate_json(base, cand, "--policy", str(strict))
    assert code == 1 and checks(doc)["cost_per_call"] == "fail"
    code, doc = gate_json(base, cand)  # the default policy does not allow it either
    assert code == 1


def test_dearer_calls_with_a_rise_too_small_to_be_clear_still_fail(
    tmp_path: Path, policies: tuple[Path, Path]
) -> None:
    allow, _ = policies
    base = run_file(tmp_path / "base.jsonl", 40, 0.5)
    # 0.5 -> 0.7: cost per outcome falls 7 %, but the interval straddles zero at n = 40.
    cand = run_file(tmp_path / "cand.jsonl", 40, 0.7, input_tokens=1300, output_tokens=130)
    code, doc = gate_json(base, cand, "--policy", str(allow))
    cpso = changes(doc)["cost_per_successful_outcome_usd"]
    assert cpso["relative_change"] < 0 < cpso["interval"]["high"]
    assert code == 1 and checks(doc)["cost_per_call"] == "fail"


def test_twenty_calls_a_side_is_not_enough_data(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 20, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 20, 0.5, input_tokens=5000)
    code, out, _ = gate("--baseline", f"eval:{base}", "--candidate", f"eval:{cand}")
    assert code == 3
    assert "baseline 20 calls, candidate 20 calls; at least 30 per side needed" in out
    code, doc = gate_json(base, cand)
    assert code == 3 and doc["verdict"] == "insufficient"
    assert doc["checks"] == [
        {
            "name": "sample",
            "status": "insufficient",
            "detail": "baseline 20 calls, candidate 20 calls; at least 30 per side needed",
        }
    ]


def test_an_eval_file_with_an_unpriceable_model_names_the_model(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 40, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 40, 0.5, model="claude-imaginary-9")
    code, out, err = gate("--baseline", f"eval:{base}", "--candidate", f"eval:{cand}")
    assert code == 2 and not out
    message = " ".join(err.split())
    assert f"{cand} line 1: model: anthropic model 'claude-imaginary-9' has no price" in message
    assert "aifinops price" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("not json", "line 1: not valid JSON"),
        (
            '{"provider": "anthropic", "model": "claude-haiku-4-5", "score": 1, "success": true}',
            "line 1: usage: is required",
        ),
        (json.dumps({**case(True), "score": 7}), "line 1: score: 7 is outside 0..1"),
        (
            json.dumps({**case(True), "success": "yes"}),
            "line 1: success: is required: true or false",
        ),
        (
            json.dumps({**case(True), "provider": "mistral"}),
            "line 1: provider: 'mistral' is not one of",
        ),
        (
            json.dumps({**case(True), "usage": {"input_tokens": -1, "output_tokens": 1}}),
            "line 1: usage.input_tokens",
        ),
        (
            json.dumps({**case(True), "feature": "other"}),
            "'other' is not the gated feature 'triage'",
        ),
    ],
)
def test_bad_eval_lines_are_named(tmp_path: Path, line: str, expected: str) -> None:
    base = run_file(tmp_path / "base.jsonl", 40, 0.5)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line + "\n")
    code, _, err = gate("--baseline", f"eval:{base}", "--candidate", f"eval:{bad}")
    assert code == 2
    assert expected in " ".join(err.split())


def test_openai_and_bedrock_usage_objects_are_read_by_the_adapters(tmp_path: Path) -> None:
    openai = tmp_path / "openai.jsonl"
    chat = {
        "prompt_tokens": 1200,
        "completion_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 1000},
    }
    openai.write_text(
        "\n".join(
            json.dumps(
                {
                    "provider": "openai",
                    "model": "gpt-4.1-mini",
                    "usage": chat,
                    "score": 0.9,
                    "success": True,
                }
            )
            for _ in range(30)
        )
        + "\n"
    )
    bedrock = tmp_path / "bedrock.jsonl"
    converse = {"inputTokens": 200, "outputTokens": 100, "totalTokens": 300}
    bedrock.write_text(
        "\n".join(
            json.dumps(
                {
                    "provider": "bedrock",
                    "model": "anthropic.claude-3-haiku-20240307-v1:0",
                    "usage": converse,
                    "score": 0.9,
                    "success": True,
                }
            )
            for _ in range(30)
        )
        + "\n"
    )
    _, doc = gate_json(openai, bedrock)
    assert doc["baseline"]["input_tokens_per_call"] == 200
    assert doc["baseline"]["cache_read_tokens_per_call"] == 1000
    assert doc["baseline"]["cache_hit_rate"] == pytest.approx(1000 / 1200, abs=1e-6)
    assert doc["candidate"]["input_tokens_per_call"] == 200
    assert doc["candidate"]["latency_p50_ms"] is None
    assert next(c for c in doc["checks"] if c["name"] == "latency")["status"] == "skipped"


def test_markdown_is_ready_for_a_pull_request_comment(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 100, 0.5)
    cand = run_file(tmp_path / "cand.jsonl", 100, 0.5, input_tokens=1300, output_tokens=130)
    code, out, _ = gate(
        "--baseline", f"eval:{base}", "--candidate", f"eval:{cand}", "--format", "md"
    )
    assert code == 1
    assert out.startswith("### ❌ FAIL: gate for feature triage\n")
    assert "| cost per call | $0.001500000 | $0.001950000 | +30.0% | +30.0% to +30.0% |" in out
    assert "- ❌ `cost_per_call`: cost per call +30.0% above the limit +10.0%" in out
    assert "Newcombe" in out and "delta method" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--baseline", "prompt_version=v1"], "--candidate is required"),
        (
            ["--baseline", "colour=blue", "--candidate", "prompt_version=v2"],
            "--baseline: unknown key 'colour'",
        ),
        (
            ["--baseline", "prompt_version=v1,prompt_version=v2", "--candidate", "model=x"],
            "prompt_version is given twice",
        ),
        (
            ["--baseline", "eval:missing.jsonl", "--candidate", "model=x"],
            "eval file missing.jsonl does not exist",
        ),
        (["--baseline", "v1", "--candidate", "model=x"], "neither key=value pairs nor"),
        (
            ["--baseline", "from=2026-13-01", "--candidate", "model=x"],
            "from='2026-13-01' is not a date",
        ),
    ],
)
def test_bad_selections_name_the_option_and_the_fix(args: list[str], expected: str) -> None:
    code, _, err = gate(*args)
    assert code == 2
    assert expected in " ".join(err.split())


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("max_cost_increase: lots\n", "max_cost_increase: 'lots' is not a fraction"),
        ("min_sample: 1\n", "min_sample: 1 must be a whole number, 2 or more"),
        ("speed: 3\n", "unknown key 'speed'"),
        ("confidence: 2\n", "confidence: 2 must be between 0.5 and 1"),
        ("- a list\n", "must be a mapping of policy keys"),
    ],
)
def test_bad_policies_name_the_key(tmp_path: Path, policy: str, expected: str) -> None:
    base = run_file(tmp_path / "base.jsonl", 40, 0.5)
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    code, _, err = gate(
        "--baseline", f"eval:{base}", "--candidate", f"eval:{base}", "--policy", str(path)
    )
    assert code == 2 and expected in " ".join(err.split())


def test_percentages_and_null_checks_in_a_policy(tmp_path: Path) -> None:
    base = run_file(tmp_path / "base.jsonl", 40, 0.5)
    cand = run_file(
        tmp_path / "cand.jsonl", 40, 0.5, input_tokens=1300, output_tokens=130, latency_ms=2000
    )
    path = tmp_path / "policy.yaml"
    path.write_text('max_cost_increase: "35%"\nmax_latency_increase: null\n')
    code, doc = gate_json(base, cand, "--policy", str(path))
    assert code == 0, doc["checks"]
    assert doc["policy"]["max_cost_increase"] == 0.35
    assert checks(doc)["latency"] == "skipped"
    path.write_text('max_cost_increase: "35%"\n')
    code, doc = gate_json(base, cand, "--policy", str(path))
    assert code == 1 and checks(doc)["latency"] == "fail"
