"""One settings object, read once at start-up.

Sources: ``AIFINOPS_*`` environment variables and one YAML file (``./aifinops.yaml``,
or the path in ``AIFINOPS_CONFIG``). Everything is validated into a frozen `Settings`;
errors name the field and the fix. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from aifinops.economics.settings import EconomicsConfigError, EconomicsSettings, parse_economics
from aifinops.governance.budgets import Budget, BudgetError, parse_budgets
from aifinops.governance.limits import RateLimit, parse_rate_limits
from aifinops.optimize.guardrails import GuardrailConfigError, GuardrailPolicy, parse_guardrails
from aifinops.optimize.routing import RoutingConfigError, RoutingPolicy, parse_routing
from aifinops.optimize.waste_settings import WasteConfigError, WasteSettings, parse_waste_settings
from aifinops.pricing.rates import RateBook, RatesError, load_rates_data
from aifinops.settings_gateway import GatewayConfigError, gateway_environment, serve_options


@dataclass(frozen=True, slots=True)
class SettingDef:
    name: str
    env: str
    default: str | None
    help: str


#: Every environment setting, declared once as data so docs and tests iterate over them.
ENV_SETTINGS: tuple[SettingDef, ...] = (
    SettingDef(
        "config_path", "AIFINOPS_CONFIG", "./aifinops.yaml", "Path of the YAML config file."
    ),
    SettingDef(
        "database_url",
        "AIFINOPS_DATABASE_URL",
        "sqlite:///./aifinops.db",
        "Ledger database: a SQLite file (default) or postgresql://… (psycopg 3).",
    ),
    SettingDef(
        "redis_url",
        "AIFINOPS_REDIS_URL",
        None,
        "Redis for limit counters shared by many gateway processes (optional).",
    ),
    # --- gateway -----------------------------------------------------------------------
    SettingDef(
        "openai_base_url",
        "AIFINOPS_OPENAI_BASE_URL",
        "https://api.openai.com/v1",
        "OpenAI upstream of the gateway, including /v1.",
    ),
    SettingDef(
        "anthropic_base_url",
        "AIFINOPS_ANTHROPIC_BASE_URL",
        "https://api.anthropic.com",
        "Anthropic upstream of the gateway, without /v1.",
    ),
    SettingDef(
        "openai_api_key",
        "OPENAI_API_KEY",
        None,
        "OpenAI key the gateway sends upstream (secret; not used in pass-through mode).",
    ),
    SettingDef(
        "anthropic_api_key",
        "ANTHROPIC_API_KEY",
        None,
        "Anthropic key the gateway sends upstream (secret; not used in pass-through mode).",
    ),
    SettingDef(
        "provider_keys",
        "AIFINOPS_PROVIDER_KEYS",
        "gateway",
        "gateway: the gateway holds the provider keys; passthrough: clients send their own "
        "provider key and the gateway key in x-aifinops-key.",
    ),
    SettingDef(
        "required_tags",
        "AIFINOPS_REQUIRED_TAGS",
        "",
        "Comma-separated attribution headers every call must carry, without the "
        "x-aifinops- prefix (e.g. feature,customer).",
    ),
    SettingDef(
        "required_tags_mode",
        "AIFINOPS_REQUIRED_TAGS_MODE",
        "reject",
        "reject: a call missing a required tag gets a 400; mark: it is forwarded and "
        "recorded as unattributed.",
    ),
    SettingDef(
        "max_body_bytes",
        "AIFINOPS_MAX_BODY_BYTES",
        "33554432",
        "Largest request body the gateway accepts (bytes); larger gets a 413.",
    ),
    SettingDef(
        "upstream_timeout_s",
        "AIFINOPS_UPSTREAM_TIMEOUT_S",
        "600",
        "Seconds the gateway waits for an upstream response (and between stream chunks).",
    ),
    SettingDef(
        "spool_dir",
        "AIFINOPS_SPOOL_DIR",
        "./aifinops-spool",
        "Directory of the recorder's durable spool (replayed into the ledger at start-up).",
    ),
    SettingDef(
        "recorder_queue_max",
        "AIFINOPS_RECORDER_QUEUE_MAX",
        "10000",
        "Events the recorder holds in memory while the ledger is slow or down; past it they "
        "wait in the spool only and are read back when the ledger returns.",
    ),
    SettingDef(
        "metrics_public",
        "AIFINOPS_METRICS_PUBLIC",
        "false",
        "true: /metrics needs no token.",
    ),
    SettingDef(
        "metrics_token",
        "AIFINOPS_METRICS_TOKEN",
        None,
        "Bearer token that /metrics requires unless it is public (secret).",
    ),
    SettingDef(
        "customer_to_provider",
        "AIFINOPS_CUSTOMER_TO_PROVIDER",
        "hash",
        "How x-aifinops-customer reaches the provider's per-user field (OpenAI "
        "safety_identifier, Anthropic metadata.user_id): hash, plain or off.",
    ),
    SettingDef(
        "customer_hash_salt",
        "AIFINOPS_CUSTOMER_HASH_SALT",
        "",
        "Salt of the customer hash sent to providers (secret).",
    ),
    # --- governance (budgets and rate limits at the gateway) ---------------------------
    SettingDef(
        "budget_fail_mode",
        "AIFINOPS_BUDGET_FAIL_MODE",
        "open",
        "When the shared budget counters (Redis) cannot be reached: open admits calls "
        "unchecked (counted in a metric), closed refuses them with a 503.",
    ),
    SettingDef(
        "budget_output_ceiling",
        "AIFINOPS_BUDGET_OUTPUT_CEILING",
        "4096",
        "Output tokens assumed for a request's worst-case cost when it sets no max_tokens.",
    ),
    SettingDef(
        "redis_prefix",
        "AIFINOPS_REDIS_PREFIX",
        "aifinops:",
        "Prefix of every Redis key the gateways share (to run several deployments on one Redis).",
    ),
    # --- provider reports ----------------------------------------------------------------
    SettingDef(
        "anthropic_admin_api_key",
        "ANTHROPIC_ADMIN_API_KEY",
        None,
        "Anthropic Admin key (sk-ant-admin…) for the usage and cost reports (secret).",
    ),
    SettingDef(
        "openai_admin_api_key",
        "OPENAI_ADMIN_API_KEY",
        None,
        "OpenAI Admin key for the organization usage and costs APIs (secret).",
    ),
    SettingDef(
        "anthropic_admin_base_url",
        "AIFINOPS_ANTHROPIC_ADMIN_BASE_URL",
        "https://api.anthropic.com",
        "Base of the Anthropic Admin API, without /v1 (tests point it at a fake).",
    ),
    SettingDef(
        "openai_admin_base_url",
        "AIFINOPS_OPENAI_ADMIN_BASE_URL",
        "https://api.openai.com/v1",
        "Base of the OpenAI Admin API, including /v1 (tests point it at a fake).",
    ),
    SettingDef(
        "reconcile_threshold_pct",
        "AIFINOPS_RECONCILE_THRESHOLD_PCT",
        "5",
        "A day whose billed cost and ledger cost differ by more than this percentage is "
        "flagged by aifinops reconcile.",
    ),
    # --- alerts (aifinops.governance.alerts, channels) ----------------------------------
    SettingDef(
        "slack_webhook_url",
        "AIFINOPS_SLACK_WEBHOOK_URL",
        None,
        "Slack incoming webhook for budget alerts of any team without one of its own (secret).",
    ),
    SettingDef(
        "slack_team_webhook_urls",
        "AIFINOPS_SLACK_WEBHOOK_URL_<TEAM>",
        None,
        "Slack incoming webhook for one team's alerts; TEAM upper-cased, other characters "
        "than letters and digits as _ (secret).",
    ),
    SettingDef(
        "webhook_url",
        "AIFINOPS_ALERT_WEBHOOK_URL",
        None,
        "Generic webhook that receives every alert as signed JSON (secret).",
    ),
    SettingDef(
        "webhook_secret",
        "AIFINOPS_ALERT_WEBHOOK_SECRET",
        None,
        "HMAC-SHA256 key of the generic webhook's X-Aifinops-Signature (secret).",
    ),
    SettingDef(
        "dashboard_url",
        "AIFINOPS_DASHBOARD_URL",
        "http://127.0.0.1:8787/",
        "Base of the dashboard links in alert messages.",
    ),
    SettingDef(
        "interval_s",
        "AIFINOPS_ALERT_INTERVAL_S",
        "60",
        "Seconds between two alert evaluations in aifinops serve; 0 turns them off.",
    ),
    SettingDef(
        "max_attempts",
        "AIFINOPS_ALERT_MAX_ATTEMPTS",
        "5",
        "Delivery attempts per alert (at most 3 per evaluation run) before it is failed.",
    ),
    SettingDef(
        "retry_base_s",
        "AIFINOPS_ALERT_RETRY_BASE_S",
        "1",
        "First wait between two delivery attempts; doubles after each one.",
    ),
    SettingDef(
        "anomaly_min_usd",
        "AIFINOPS_ANOMALY_MIN_USD",
        "5",
        "A day's spend must beat its baseline median by at least this many USD to be an anomaly.",
    ),
)

ATTRIBUTION_HEADER_NAMES: tuple[str, ...] = (
    "team",
    "feature",
    "customer",
    "request-id",
    "prompt-version",
    "unit",
)
_TAG_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")

_CONFIG_KEYS = frozenset(
    {
        "rates",
        "rates_file",
        "gateway",
        "showback",
        "rate_limits",
        "provider_reports",
        "guardrails",
        "routing",
        "optimize",
    }
)
#: Sections the synthetic company's aifinops.yaml carries for capabilities still to come
#: (budgets, unit economics, routing). Accepted so the file loads; each is validated
#: by the capability that reads it.
_LATER_SECTIONS: dict[str, type] = {
    "teams": list,
    "features": list,
    "budgets": list,
}


class ConfigError(ValueError):
    """The configuration is invalid; ``field`` names where (e.g. ``rates[0].model``)."""

    def __init__(self, field: str, message: str, source: str | None = None) -> None:
        self.field = field
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {message}")


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """What `aifinops serve` needs; secrets are kept out of ``repr``."""

    openai_base_url: str = "https://api.openai.com/v1"
    anthropic_base_url: str = "https://api.anthropic.com"
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    passthrough: bool = False
    required_tags: tuple[str, ...] = ()
    required_tags_mode: str = "reject"
    max_body_bytes: int = 32 * 1024 * 1024
    upstream_timeout_s: float = 600.0
    spool_dir: Path = Path("./aifinops-spool")
    recorder_queue_max: int = 10_000
    metrics_public: bool = False
    metrics_token: str | None = field(default=None, repr=False)
    customer_to_provider: str = "hash"
    customer_hash_salt: str = field(default="", repr=False)
    budget_fail_mode: str = "open"
    budget_output_ceiling: int = 4096
    redis_prefix: str = "aifinops:"
    #: where `aifinops serve` listens and how many workers (config file; its options win)
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1


# --- provider_reports: the schedule of `aifinops serve` ---------------------------------

SCHEDULE_PROVIDERS: tuple[str, ...] = ("anthropic", "openai")
_SCHEDULE_KEYS = ("recent_interval", "week_interval", "bucket_width")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


@dataclass(frozen=True, slots=True)
class ScheduledProvider:
    """One provider `aifinops serve` pulls: today and yesterday every ``recent_interval_s``,
    the 7 days before today every ``week_interval_s``."""

    provider: str
    recent_interval_s: float = 3600.0
    week_interval_s: float = 86400.0
    bucket_width: str = "1d"


def _duration(value: object, where: str, source: str | None) -> float:
    text = str(value).strip().lower() if isinstance(value, (str, int, float)) else ""
    match = _DURATION.match(text) if not isinstance(value, bool) else None
    if match is None:
        raise ConfigError(
            where, f"{value!r} is not a duration; use seconds or e.g. 30s, 15m, 1h, 1d", source
        )
    seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    if seconds < 1:
        raise ConfigError(where, f"{value!r} is shorter than 1 second", source)
    return seconds


def _unknown(name: str, known: str) -> str:
    if "key" in name.lower() or "secret" in name.lower():
        return (
            "admin keys are read from the environment only (ANTHROPIC_ADMIN_API_KEY, "
            "OPENAI_ADMIN_API_KEY), never from the config file; remove it"
        )
    return f"unknown key; known: {known}"


def _schedule_options(
    raw: Mapping[str, Any], where: str, source: str | None, base: ScheduledProvider
) -> ScheduledProvider:
    values: dict[str, Any] = {}
    for key in ("recent_interval", "week_interval"):
        if raw.get(key) is not None:
            values[f"{key}_s"] = _duration(raw[key], f"{where}.{key}", source)
    if raw.get("bucket_width") is not None:
        width = str(raw["bucket_width"]).strip().lower()
        if width not in ("1d", "1h"):
            raise ConfigError(
                f"{where}.bucket_width", f"{raw['bucket_width']!r} is not 1d or 1h", source
            )
        values["bucket_width"] = width
    return replace(base, **values)


def _schedule_entry(
    entry: object, where: str, source: str | None, defaults: ScheduledProvider
) -> ScheduledProvider:
    raw: Mapping[str, Any] = {"provider": entry} if isinstance(entry, str) else {}
    if isinstance(entry, Mapping):
        raw = entry
        unknown = sorted(set(raw) - {"provider", *_SCHEDULE_KEYS})
        if unknown:
            known = ", ".join(("provider", *_SCHEDULE_KEYS))
            raise ConfigError(f"{where}.{unknown[0]}", _unknown(unknown[0], known), source)
    elif not isinstance(entry, str):
        raise ConfigError(where, "must be a provider name or a mapping with provider:", source)
    name = str(raw.get("provider") or "").strip().lower()
    if name not in SCHEDULE_PROVIDERS:
        shown = f"{raw.get('provider')!r} is not" if raw.get("provider") else "is missing; use"
        raise ConfigError(
            f"{where}.provider" if isinstance(entry, Mapping) else where,
            f"{shown} one of {', '.join(SCHEDULE_PROVIDERS)} "
            "(Bedrock has no pull API: import its CUR with aifinops import bedrock-cur)",
            source,
        )
    return _schedule_options(raw, where, source, replace(defaults, provider=name))


def load_schedule(section: object, source: str | None = None) -> tuple[ScheduledProvider, ...]:
    """The ``provider_reports:`` section of the config file → the providers to pull.

    ``providers`` lists ``anthropic`` and/or ``openai`` (a name, or a mapping with
    ``provider`` and optional ``recent_interval``, ``week_interval``, ``bucket_width``);
    the same three keys at the section's top level are the defaults of every provider.
    """
    if section is None:
        return ()
    if not isinstance(section, Mapping):
        raise ConfigError("provider_reports", "must be a mapping with a providers: list", source)
    unknown = sorted(set(section) - {"providers", *_SCHEDULE_KEYS})
    if unknown:
        known = ", ".join(("providers", *_SCHEDULE_KEYS))
        raise ConfigError(f"provider_reports.{unknown[0]}", _unknown(unknown[0], known), source)
    defaults = _schedule_options(section, "provider_reports", source, ScheduledProvider(""))
    entries = section.get("providers")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            "provider_reports.providers",
            "must be a non-empty list, e.g. [anthropic, openai]",
            source,
        )
    out: list[ScheduledProvider] = []
    for i, entry in enumerate(entries):
        where = f"provider_reports.providers[{i}]"
        parsed = _schedule_entry(entry, where, source, defaults)
        if any(p.provider == parsed.provider for p in out):
            raise ConfigError(where, f"{parsed.provider} is listed twice", source)
        out.append(parsed)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Provider usage and cost reports (`aifinops import anthropic|openai`, reconcile)."""

    anthropic_admin_api_key: str | None = field(default=None, repr=False)
    openai_admin_api_key: str | None = field(default=None, repr=False)
    anthropic_admin_base_url: str = "https://api.anthropic.com"
    openai_admin_base_url: str = "https://api.openai.com/v1"
    reconcile_threshold_pct: float = 5.0
    #: what `aifinops serve` pulls on a schedule (the config's ``provider_reports:``)
    schedule: tuple[ScheduledProvider, ...] = ()


def load_report_settings(
    env: Mapping[str, str], section: object = None, source: str | None = None
) -> ReportSettings:
    """The provider-report settings: keys and URLs from the environment, the schedule
    from the config file's ``provider_reports`` section; errors name the field."""
    return ReportSettings(
        schedule=load_schedule(section, source),
        anthropic_admin_api_key=env.get("ANTHROPIC_ADMIN_API_KEY") or None,
        openai_admin_api_key=env.get("OPENAI_ADMIN_API_KEY") or None,
        anthropic_admin_base_url=_url(
            env, "AIFINOPS_ANTHROPIC_ADMIN_BASE_URL", "https://api.anthropic.com"
        ),
        openai_admin_base_url=_url(
            env, "AIFINOPS_OPENAI_ADMIN_BASE_URL", "https://api.openai.com/v1"
        ),
        reconcile_threshold_pct=_number(env, "AIFINOPS_RECONCILE_THRESHOLD_PCT", "5", minimum=0.0),
    )


_SLACK_TEAM_PREFIX = "AIFINOPS_SLACK_WEBHOOK_URL_"


def env_team_key(team: str) -> str:
    """A team's suffix in ``AIFINOPS_SLACK_WEBHOOK_URL_<TEAM>``: upper-cased, any other
    character than a letter or digit as ``_`` (``data-science`` → ``DATA_SCIENCE``)."""
    return re.sub(r"[^A-Z0-9]", "_", team.upper())


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Where and how budget alerts go; webhook URLs and the secret stay out of ``repr``,
    logs and the database (`aifinops.governance.channels`)."""

    slack_webhook_url: str | None = field(default=None, repr=False)
    #: (TEAM key as in the variable's name, URL)
    slack_team_webhook_urls: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    webhook_url: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    dashboard_url: str = "http://127.0.0.1:8787/"
    interval_s: float = 60.0
    max_attempts: int = 5
    retry_base_s: float = 1.0
    anomaly_min_usd: float = 5.0
    #: (team, Slack channel) from the config file's ``teams:`` (labels only, no secret)
    team_channels: tuple[tuple[str, str], ...] = ()

    def slack_url_for(self, team: str | None) -> str | None:
        """The team's own Slack webhook, else the default one."""
        if team:
            key = env_team_key(team)
            for name, url in self.slack_team_webhook_urls:
                if name == key:
                    return url
        return self.slack_webhook_url

    def channel_of(self, team: str | None) -> str | None:
        return dict(self.team_channels).get(team) if team else None


def _team_channels(section: object, source: str | None) -> tuple[tuple[str, str], ...]:
    out = []
    for i, entry in enumerate(section if isinstance(section, list) else []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"teams[{i}].name", "is required (the team's name)", source)
        channel = entry.get("slack_channel")
        if channel is not None and not isinstance(channel, str):
            raise ConfigError(f"teams[{i}].slack_channel", "must be a text like '#team'", source)
        if channel:
            out.append((entry["name"], channel))
    return tuple(out)


def _secret_url(env: Mapping[str, str], name: str) -> str | None:
    """A webhook URL (a secret: an error never shows it)."""
    value = (env.get(name) or "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ConfigError(name, "must be an http:// or https:// URL (value not shown: a secret)")
    return value


def load_alert_settings(
    env: Mapping[str, str], teams: object = None, source: str | None = None
) -> AlertSettings:
    """Alert channels and schedule from the environment; errors name the variable."""
    team_urls = []
    for name in sorted(env):
        url = _secret_url(env, name) if name.startswith(_SLACK_TEAM_PREFIX) else None
        if url:
            team_urls.append((name.removeprefix(_SLACK_TEAM_PREFIX), url))
    hook = _secret_url(env, "AIFINOPS_ALERT_WEBHOOK_URL")
    secret = env.get("AIFINOPS_ALERT_WEBHOOK_SECRET") or None
    if hook and not secret:
        raise ConfigError(
            "AIFINOPS_ALERT_WEBHOOK_SECRET",
            "is required with AIFINOPS_ALERT_WEBHOOK_URL (the key the receiver checks "
            "X-Aifinops-Signature with); set both or neither",
        )
    attempts = _number(env, "AIFINOPS_ALERT_MAX_ATTEMPTS", "5", minimum=1)
    if attempts != int(attempts):
        raise ConfigError(
            "AIFINOPS_ALERT_MAX_ATTEMPTS", f"must be a whole number, not {attempts:g}"
        )
    return AlertSettings(
        slack_webhook_url=_secret_url(env, "AIFINOPS_SLACK_WEBHOOK_URL"),
        slack_team_webhook_urls=tuple(team_urls),
        webhook_url=hook,
        webhook_secret=secret,
        dashboard_url=_url(env, "AIFINOPS_DASHBOARD_URL", "http://127.0.0.1:8787") + "/",
        interval_s=_number(env, "AIFINOPS_ALERT_INTERVAL_S", "60", minimum=0.0),
        max_attempts=int(attempts),
        retry_base_s=_number(env, "AIFINOPS_ALERT_RETRY_BASE_S", "1", minimum=0.0),
        anomaly_min_usd=_number(env, "AIFINOPS_ANOMALY_MIN_USD", "5", minimum=0.0),
        team_channels=_team_channels(teams, source),
    )


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path | None = None
    database_url: str = "sqlite:///./aifinops.db"
    redis_url: str | None = None
    rates: RateBook = field(default_factory=RateBook)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    economics: EconomicsSettings = field(default_factory=EconomicsSettings)
    budgets: tuple[Budget, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    guardrails: tuple[GuardrailPolicy, ...] = ()
    routing: tuple[RoutingPolicy, ...] = ()
    waste: WasteSettings = field(default_factory=WasteSettings)


def _read_yaml(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(what, f"cannot read {path}: {exc.strerror}", str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(what, f"is not valid YAML: {exc}", str(path)) from None


def _load_rates(data: Mapping[str, Any], config_path: Path) -> RateBook:
    if "rates" in data and "rates_file" in data:
        raise ConfigError(
            "rates_file", "give either rates or rates_file, not both", str(config_path)
        )
    source = config_path
    raw: Any = data.get("rates")
    if data.get("rates_file") is not None:
        ref = data["rates_file"]
        if not isinstance(ref, str):
            raise ConfigError("rates_file", "must be a path to a YAML file", str(config_path))
        source = (config_path.parent / ref).resolve()
        raw = _read_yaml(source, "rates_file")
        if isinstance(raw, Mapping):
            raw = raw.get("rates")
    try:
        return load_rates_data(raw)
    except RatesError as exc:
        raise ConfigError(exc.field, str(exc).split(": ", 1)[1], str(source)) from None


def load_config_file(path: Path) -> dict[str, Any]:
    data = _read_yaml(path, "config")
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError("config", "must be a YAML mapping at the top level", str(path))
    for name, kind in _LATER_SECTIONS.items():
        if name in data and not isinstance(data[name], kind):
            raise ConfigError(name, f"must be a {kind.__name__}", str(path))
    unknown = sorted(set(data) - _CONFIG_KEYS - set(_LATER_SECTIONS))
    if unknown:
        raise ConfigError(
            unknown[0], f"unknown setting; known: {', '.join(sorted(_CONFIG_KEYS))}", str(path)
        )
    return dict(data)


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _number(env: Mapping[str, str], name: str, default: str, *, minimum: float) -> float:
    raw = (env.get(name) or default).strip()
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum:g}, got {raw}")
    return value


def _whole(env: Mapping[str, str], name: str, default: str, *, minimum: int) -> int:
    value = _number(env, name, default, minimum=minimum)
    if value != int(value):
        raise ConfigError(name, f"must be a whole number, not {value:g}")
    return int(value)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(name, f"{value!r} must start with http:// or https://")
    return value


def _required_tags(raw: str) -> tuple[str, ...]:
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip().lower().removeprefix("x-aifinops-")
        if not name:
            continue
        is_tag = name.startswith("tag-") and len(name) > 4 and set(name) <= _TAG_NAME_CHARS
        if name not in ATTRIBUTION_HEADER_NAMES and not is_tag:
            known = ", ".join(ATTRIBUTION_HEADER_NAMES)
            raise ConfigError(
                "AIFINOPS_REQUIRED_TAGS",
                f"{name!r} is not an attribution header ({known}, tag-NAME)",
            )
        names.append(name)
    return tuple(dict.fromkeys(names))


def load_gateway_settings(
    env: Mapping[str, str], section: object = None, source: Path | None = None
) -> GatewaySettings:
    """The gateway's settings: the environment over the config file's ``gateway:``
    section (`aifinops.settings_gateway`); errors name the variable, or the file's field
    when the value came from there."""
    where = str(source) if source is not None else None
    try:
        values, origin = gateway_environment(
            section, env, source.parent if source is not None else Path()
        )
        host, port, workers = serve_options(section)
    except GatewayConfigError as exc:
        raise ConfigError(exc.field, exc.message, where) from None
    merged = {**values, **{name: value for name, value in env.items() if value}}
    try:
        gateway = _gateway_from_environment(merged)
    except ConfigError as exc:
        if exc.field in origin and not env.get(exc.field):
            raise ConfigError(origin[exc.field], exc.message, where) from None
        raise
    return replace(gateway, host=host, port=port, workers=workers)


def _gateway_from_environment(env: Mapping[str, str]) -> GatewaySettings:
    metrics_public = _choice(
        env, "AIFINOPS_METRICS_PUBLIC", "false", ("true", "false", "1", "0", "yes", "no")
    )
    return GatewaySettings(
        openai_base_url=_url(env, "AIFINOPS_OPENAI_BASE_URL", "https://api.openai.com/v1"),
        anthropic_base_url=_url(env, "AIFINOPS_ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        openai_api_key=env.get("OPENAI_API_KEY") or None,
        anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
        passthrough=_choice(env, "AIFINOPS_PROVIDER_KEYS", "gateway", ("gateway", "passthrough"))
        == "passthrough",
        required_tags=_required_tags(env.get("AIFINOPS_REQUIRED_TAGS", "")),
        required_tags_mode=_choice(
            env, "AIFINOPS_REQUIRED_TAGS_MODE", "reject", ("reject", "mark")
        ),
        max_body_bytes=int(_number(env, "AIFINOPS_MAX_BODY_BYTES", "33554432", minimum=1024)),
        upstream_timeout_s=_number(env, "AIFINOPS_UPSTREAM_TIMEOUT_S", "600", minimum=0.1),
        spool_dir=Path(env.get("AIFINOPS_SPOOL_DIR") or "./aifinops-spool"),
        recorder_queue_max=_whole(env, "AIFINOPS_RECORDER_QUEUE_MAX", "10000", minimum=1),
        metrics_public=metrics_public in ("true", "1", "yes"),
        metrics_token=env.get("AIFINOPS_METRICS_TOKEN") or None,
        customer_to_provider=_choice(
            env, "AIFINOPS_CUSTOMER_TO_PROVIDER", "hash", ("hash", "plain", "off")
        ),
        customer_hash_salt=env.get("AIFINOPS_CUSTOMER_HASH_SALT", ""),
        budget_fail_mode=_choice(env, "AIFINOPS_BUDGET_FAIL_MODE", "open", ("open", "closed")),
        budget_output_ceiling=int(
            _number(env, "AIFINOPS_BUDGET_OUTPUT_CEILING", "4096", minimum=1)
        ),
        redis_prefix=env.get("AIFINOPS_REDIS_PREFIX") or "aifinops:",
    )


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> Settings:
    """Read the environment (``os.environ`` by default) and the config file once."""
    env = os.environ if environ is None else environ
    named = env.get("AIFINOPS_CONFIG")
    # set but empty: no config file at all (not even ./aifinops.yaml)
    no_file = config_path is None and named is not None and not named.strip()
    explicit = config_path is not None or (named is not None and not no_file)
    path = config_path or Path(named if explicit and named else "./aifinops.yaml")
    data: dict[str, Any] = {}
    if no_file:
        pass
    elif path.exists():
        data = load_config_file(path)
    elif explicit:
        raise ConfigError("AIFINOPS_CONFIG", f"config file {path} does not exist", str(path))
    return Settings(
        config_path=None if no_file or not path.exists() else path,
        database_url=env.get("AIFINOPS_DATABASE_URL", "sqlite:///./aifinops.db"),
        redis_url=env.get("AIFINOPS_REDIS_URL") or None,
        rates=_load_rates(data, path) if data else RateBook(),
        gateway=load_gateway_settings(env, data.get("gateway"), path),
        reports=load_report_settings(env, data.get("provider_reports"), str(path)),
        economics=_load_economics(data, path),
        budgets=_load_budgets(data, path),
        rate_limits=_load_rate_limits(data, path),
        alerts=load_alert_settings(env, data.get("teams"), str(path)),
        guardrails=_load_guardrails(data, path),
        routing=_load_routing(data, path),
        waste=_load_waste(data, path),
    )


def _load_budgets(data: Mapping[str, Any], path: Path) -> tuple[Budget, ...]:
    try:
        return parse_budgets(data.get("budgets"))
    except BudgetError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None


def _load_rate_limits(data: Mapping[str, Any], path: Path) -> tuple[RateLimit, ...]:
    try:
        return parse_rate_limits(data.get("rate_limits"))
    except BudgetError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None


def _load_economics(data: Mapping[str, Any], path: Path) -> EconomicsSettings:
    try:
        return parse_economics(data)
    except EconomicsConfigError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None


def _load_guardrails(data: Mapping[str, Any], path: Path) -> tuple[GuardrailPolicy, ...]:
    try:
        return parse_guardrails(data.get("guardrails"))
    except GuardrailConfigError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None


def _load_routing(data: Mapping[str, Any], path: Path) -> tuple[RoutingPolicy, ...]:
    try:
        return parse_routing(data.get("routing"))
    except RoutingConfigError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None


def _load_waste(data: Mapping[str, Any], path: Path) -> WasteSettings:
    try:
        return parse_waste_settings(data.get("optimize"))
    except WasteConfigError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None
