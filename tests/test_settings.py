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


GATEWAY_YAML = """\
gateway:
  host: 0.0.0.0
  port: 9000
  workers: 4
  openai_base_url: http://sim:8788/v1
  provider_keys: passthrough
  required_tags: [feature, customer]
  required_tags_mode: mark
  max_body_bytes: 65536
  upstream_timeout_s: 30
  spool_dir: spool
  recorder_queue_max: 2000
  metrics_public: true
  customer_to_provider: plain
  budget_fail_mode: closed
  budget_output_ceiling: 1024
  redis_prefix: "team-a:"
  openai_api_key_env: OPENAI_KEY_PROD
  metrics_token_env: SCRAPE_TOKEN
"""


def test_gateway_section_of_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(GATEWAY_YAML)
    env = {"OPENAI_KEY_PROD": "sk-prod-secret", "SCRAPE_TOKEN": "scrape-secret"}
    gw = load_settings(environ=env, config_path=config).gateway
    assert (gw.host, gw.port, gw.workers) == ("0.0.0.0", 9000, 4)
    assert gw.openai_base_url == "http://sim:8788/v1" and gw.passthrough
    assert gw.required_tags == ("feature", "customer") and gw.required_tags_mode == "mark"
    assert (gw.max_body_bytes, gw.upstream_timeout_s, gw.recorder_queue_max) == (65536, 30, 2000)
    assert gw.spool_dir == tmp_path / "spool"  # relative to the config file
    assert gw.metrics_public and gw.customer_to_provider == "plain"
    assert (gw.budget_fail_mode, gw.budget_output_ceiling, gw.redis_prefix) == (
        "closed",
        1024,
        "team-a:",
    )
    assert gw.openai_api_key == "sk-prod-secret" and gw.metrics_token == "scrape-secret"
    assert gw.anthropic_api_key is None


def test_a_secret_reference_to_an_unset_variable_leaves_it_unset(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("gateway:\n  anthropic_api_key_env: UNSET_VAR\n")
    assert load_settings(environ={}, config_path=config).gateway.anthropic_api_key is None
    env = {"UNSET_VAR": "sk-ant-ref", "ANTHROPIC_API_KEY": ""}
    assert load_settings(environ=env, config_path=config).gateway.anthropic_api_key == "sk-ant-ref"


def test_environment_overrides_the_gateway_section(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(GATEWAY_YAML)
    env = {
        "OPENAI_KEY_PROD": "sk-prod-secret",
        "SCRAPE_TOKEN": "scrape-secret",
        "OPENAI_API_KEY": "sk-from-env",
        "AIFINOPS_REQUIRED_TAGS_MODE": "reject",
        "AIFINOPS_RECORDER_QUEUE_MAX": "50",
        "AIFINOPS_METRICS_PUBLIC": "",  # empty counts as unset: the file's value holds
    }
    gw = load_settings(environ=env, config_path=config).gateway
    assert gw.required_tags_mode == "reject" and gw.recorder_queue_max == 50
    assert gw.openai_api_key == "sk-from-env" and gw.metrics_public
    assert gw.required_tags == ("feature", "customer")  # not overridden: from the file


@pytest.mark.parametrize(
    ("section", "field", "words"),
    [
        ("openai_api_key: sk-live-123", "gateway.openai_api_key", "OPENAI_API_KEY"),
        ("metrics_token: abc", "gateway.metrics_token", "metrics_token_env: NAME"),
        ("customer_hash_salt: pepper", "gateway.customer_hash_salt", "never read"),
        ("anthropic_api_key_env: sk-ant-123", "gateway.anthropic_api_key_env", "NAME"),
        ("required_tags_mode: drop", "gateway.required_tags_mode", "not one of reject, mark"),
        ("required_tags: [colour]", "gateway.required_tags", "not an attribution header"),
        ("max_body_bytes: lots", "gateway.max_body_bytes", "not a number"),
        ("recorder_queue_max: 0.5", "gateway.recorder_queue_max", "at least 1"),
        ("openai_base_url: api.openai.com", "gateway.openai_base_url", "http://"),
        ("port: 70000", "gateway.port", "from 0 to 65535"),
        ("workers: two", "gateway.workers", "whole number"),
        ("host: ''", "gateway.host", "interface"),
        ("metrics_public: {a: 1}", "gateway.metrics_public", "single value"),
        ("prot: 80", "gateway.prot", "unknown setting; known: anthropic_api_key_env"),
    ],
)
def test_gateway_section_errors_name_the_field(
    tmp_path: Path, section: str, field: str, words: str
) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(f"gateway:\n  {section}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, config_path=config)
    assert info.value.field == field
    assert words in str(info.value) and str(config) in str(info.value)
    assert "sk-live-123" not in str(info.value) and "sk-ant-123" not in str(info.value)
    assert "pepper" not in str(info.value)


def test_a_bad_variable_is_named_even_with_a_gateway_section(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("gateway:\n  required_tags_mode: mark\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"AIFINOPS_REQUIRED_TAGS_MODE": "drop"}, config_path=config)
    assert info.value.field == "AIFINOPS_REQUIRED_TAGS_MODE"


def test_gateway_section_must_be_a_mapping(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("gateway: [port]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, config_path=config)
    assert info.value.field == "gateway"


def test_an_empty_config_variable_means_no_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aifinops.yaml").write_text(
        "rates:\n  - {provider: openai, model: gpt-5, discount_pct: 5}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).config_path == Path("aifinops.yaml")  # the default file
    for empty in ("", "  "):
        settings = load_settings(environ={"AIFINOPS_CONFIG": empty})
        assert settings.config_path is None
        assert settings.rates.entries == ()
