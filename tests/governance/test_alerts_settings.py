"""Alert settings: from the environment only, errors that name the variable and never
show a secret, secrets out of ``repr``."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.governance.alerts import channel_labels
from aifinops.settings import ConfigError, env_team_key, load_settings

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


def test_alert_settings_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(
        "teams:\n  - {name: data-science, slack_channel: '#ds-spend'}\n  - {name: ops}\n"
    )
    settings = load_settings(
        environ={
            "AIFINOPS_SLACK_WEBHOOK_URL": HOOK + "-default",
            "AIFINOPS_SLACK_WEBHOOK_URL_DATA_SCIENCE": HOOK,
            "AIFINOPS_ALERT_WEBHOOK_URL": "https://alerts.example.com/in",
            "AIFINOPS_ALERT_WEBHOOK_SECRET": "s3cret",
            "AIFINOPS_DASHBOARD_URL": "https://finops.example.com",
            "AIFINOPS_ALERT_INTERVAL_S": "30",
            "AIFINOPS_ALERT_MAX_ATTEMPTS": "4",
        },
        config_path=config,
    )
    alerts = settings.alerts
    assert env_team_key("data-science") == "DATA_SCIENCE"
    assert alerts.slack_url_for("data-science") == HOOK
    assert alerts.slack_url_for("ops") == HOOK + "-default"
    assert alerts.slack_url_for(None) == HOOK + "-default"
    assert alerts.dashboard_url == "https://finops.example.com/"
    assert (alerts.interval_s, alerts.max_attempts, alerts.retry_base_s) == (30, 4, 1)
    assert channel_labels(alerts, "data-science") == ["slack:#ds-spend", "webhook"]
    assert channel_labels(alerts, "ops") == ["slack:ops", "webhook"]
    shown = repr(settings)
    assert "XXXXSECRET" not in shown and "s3cret" not in shown


def test_defaults_send_nothing() -> None:
    alerts = load_settings(environ={}, config_path=None).alerts
    assert alerts.slack_url_for("sales") is None and alerts.webhook_url is None
    assert alerts.interval_s == 60 and alerts.max_attempts == 5
    assert channel_labels(alerts, "sales") == []


@pytest.mark.parametrize(
    ("env", "field", "words"),
    [
        ({"AIFINOPS_SLACK_WEBHOOK_URL": "hooks.slack.com/XXXXSECRET"}, "", "http"),
        ({"AIFINOPS_SLACK_WEBHOOK_URL_SALES": "XXXXSECRET"}, "", "http"),
        (
            {"AIFINOPS_ALERT_WEBHOOK_URL": "https://x.example/XXXXSECRET"},
            "AIFINOPS_ALERT_WEBHOOK_SECRET",
            "is required",
        ),
        ({"AIFINOPS_ALERT_INTERVAL_S": "-1"}, "", "at least 0"),
        ({"AIFINOPS_ALERT_MAX_ATTEMPTS": "2.5"}, "", "whole number"),
        ({"AIFINOPS_DASHBOARD_URL": "finops"}, "", "http"),
    ],
)
def test_bad_alert_settings_name_the_variable(env: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, config_path=None)
    assert info.value.field == (field or next(iter(env)))
    assert words in str(info.value)
    assert "XXXXSECRET" not in str(info.value)
