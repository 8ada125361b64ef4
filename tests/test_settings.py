"""Settings: environment and one YAML file, read once, errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.settings import ENV_SETTINGS, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.config_path is None
    assert settings.database_url == "sqlite:///./aifinops.db"
    assert settings.redis_url is None
    assert settings.rates.entries == ()


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "AIFINOPS_DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
            "AIFINOPS_REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        config_path=None,
    )
    assert settings.database_url.startswith("postgresql://")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_inline_rates(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("rates:\n  - {provider: openai, model: gpt-5, discount_pct: 5}\n")
    settings = load_settings(environ={"AIFINOPS_CONFIG": str(config)})
    assert settings.config_path == config
    assert len(settings.rates.entries) == 1
    assert settings.rates.entries[0].discount_bp == 500


def test_rates_file_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "rates.yaml").write_text(
        "rates:\n  - {provider: anthropic, model: 'claude-*', discount_pct: 10}\n"
    )
    config = tmp_path / "aifinops.yaml"
    config.write_text("rates_file: rates.yaml\n")
    assert load_settings(environ={}, config_path=config).rates.entries[0].provider == "anthropic"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("rates:\n  - {provider: openai, discount_pct: 5}\n", "rates[0].model", "required"),
        ("ratez: []\n", "ratez", "unknown setting"),
        ("rates: [\n", "config", "not valid YAML"),
        ("- 1\n- 2\n", "config", "mapping"),
        ("rates: []\nrates_file: r.yaml\n", "rates_file", "not both"),
        ("rates_file: missing.yaml\n", "rates_file", "cannot read"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, config_path=config)
    assert info.value.field == field
    assert words in str(info.value)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"AIFINOPS_CONFIG": str(tmp_path / "nope.yaml")})


def test_every_environment_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    for setting in ENV_SETTINGS:
        assert f"`{setting.env}`" in docs, f"{setting.env} is not in docs/configuration.md"


def test_gateway_settings_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "AIFINOPS_OPENAI_BASE_URL": "http://127.0.0.1:9/v1/",
            "AIFINOPS_REQUIRED_TAGS": "feature, x-aifinops-customer,tag-env",
            "AIFINOPS_REQUIRED_TAGS_MODE": "mark",
            "AIFINOPS_PROVIDER_KEYS": "passthrough",
            "ANTHROPIC_API_KEY": "sk-ant-secret",
        },
        config_path=None,
    )
    gw = settings.gateway
    assert gw.openai_base_url == "http://127.0.0.1:9/v1"
    assert gw.required_tags == ("feature", "customer", "tag-env")
    assert gw.required_tags_mode == "mark" and gw.passthrough
    assert "sk-ant-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIFINOPS_REQUIRED_TAGS_MODE", "drop"),
        ("AIFINOPS_REQUIRED_TAGS", "colour"),
        ("AIFINOPS_MAX_BODY_BYTES", "lots"),
        ("AIFINOPS_OPENAI_BASE_URL", "api.openai.com"),
        ("AIFINOPS_PROVIDER_KEYS", "both"),
    ],
)
def test_bad_gateway_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={name: value}, config_path=None)
    assert info.value.field == name
