"""The `optimize:` section: defaults, values, and errors that name the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.optimize.waste_settings import WasteConfigError, WasteSettings, parse_waste_settings
from aifinops.settings import ConfigError, load_settings


def test_defaults() -> None:
    assert parse_waste_settings(None) == WasteSettings()
    assert WasteSettings().eval_tolerance == Decimal("0.02")
    assert WasteSettings().tolerance_for("any") == Decimal("0.02")


def test_values() -> None:
    s = parse_waste_settings(
        {
            "top_tier_models": ["Claude-Opus-*"],
            "eval_tolerance": "0.05",
            "feature_tolerance": {"triage": 0.01},
            "max_chunks": 30,
            "trim_top_k": 5,
            "min_monthly_saving_usd": 0,
            "system_share": 0.6,
            "system_share_growth_ratio": "1.05",
            "input_norm_factor": 8,
            "top_tier_min_input_usd_per_mtok": None,
        }
    )
    assert s.top_tier_min_input_usd_per_mtok is None
    assert parse_waste_settings({"top_tier_min_input_usd_per_mtok": "20"}) == WasteSettings(
        top_tier_min_input_usd_per_mtok=Decimal(20)
    )
    assert (s.system_share, s.system_share_growth_ratio) == (Decimal("0.6"), Decimal("1.05"))
    assert s.input_norm_factor == 8
    assert s.top_tier_models == ("claude-opus-*",)
    assert s.tolerance_for("triage") == Decimal("0.01")
    assert s.tolerance_for("other") == Decimal("0.05")
    assert (s.max_chunks, s.trim_top_k, s.min_monthly_saving_usd) == (30, 5, Decimal(0))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"eval_tolerance": 2}, "optimize.eval_tolerance"),
        ({"eval_tolerance": "lots"}, "optimize.eval_tolerance"),
        ({"min_repeats": 0}, "optimize.min_repeats"),
        ({"top_tier_models": "opus"}, "optimize.top_tier_models"),
        ({"trim_top_k": 30}, "optimize.trim_top_k"),
        ({"system_growth_ratio": 0.5}, "optimize.system_growth_ratio"),
        ({"system_share": 1.5}, "optimize.system_share"),
        ({"system_share_growth_ratio": 1.5}, "optimize.system_share_growth_ratio"),
        ({"input_norm_factor": 1}, "optimize.input_norm_factor"),
        ({"top_tier_min_input_usd_per_mtok": "cheap"}, "optimize.top_tier_min_input_usd_per_mtok"),
        ({"feature_tolerance": {"x": -1}}, "optimize.feature_tolerance.x"),
        ({"colour": "red"}, "optimize.colour"),
    ],
)
def test_errors_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(WasteConfigError) as caught:
        parse_waste_settings(raw)
    assert caught.value.field == field


def test_the_config_file_section(tmp_path: Path) -> None:
    path = tmp_path / "aifinops.yaml"
    path.write_text("optimize:\n  max_chunks: 12\n  trim_top_k: 6\n", encoding="utf-8")
    assert load_settings({}, config_path=path).waste.max_chunks == 12
    path.write_text("optimize:\n  max_chunks: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"optimize\.max_chunks"):
        load_settings({}, config_path=path)
