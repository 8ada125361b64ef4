"""One settings object, read once at start-up.

Sources: ``AIFINOPS_*`` environment variables and one YAML file (``./aifinops.yaml``,
or the path in ``AIFINOPS_CONFIG``). Everything is validated into a frozen `Settings`;
errors name the field and the fix. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aifinops.economics.settings import EconomicsConfigError, EconomicsSettings, parse_economics
from aifinops.pricing.rates import RateBook, RatesError, load_rates_data


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

_CONFIG_KEYS = frozenset({"rates", "rates_file", "showback"})
#: Sections the synthetic company's aifinops.yaml carries for capabilities still to come
#: (budgets, unit economics, routing). Accepted so the file loads; each is validated
#: by the capability that reads it.
_LATER_SECTIONS: dict[str, type] = {
    "teams": list,
    "features": list,
    "budgets": list,
    "routing": list,
}


class ConfigError(ValueError):
    """The configuration is invalid; ``field`` names where (e.g. ``rates[0].model``)."""

    def __init__(self, field: str, message: str, source: str | None = None) -> None:
        self.field = field
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
    metrics_public: bool = False
    metrics_token: str | None = field(default=None, repr=False)
    customer_to_provider: str = "hash"
    customer_hash_salt: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Provider usage and cost reports (`aifinops import anthropic|openai`, reconcile)."""

    anthropic_admin_api_key: str | None = field(default=None, repr=False)
    openai_admin_api_key: str | None = field(default=None, repr=False)
    anthropic_admin_base_url: str = "https://api.anthropic.com"
    openai_admin_base_url: str = "https://api.openai.com/v1"
    reconcile_threshold_pct: float = 5.0


def load_report_settings(env: Mapping[str, str]) -> ReportSettings:
    """The provider-report settings from the environment; errors name the variable."""
    return ReportSettings(
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


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path | None = None
    database_url: str = "sqlite:///./aifinops.db"
    redis_url: str | None = None
    rates: RateBook = field(default_factory=RateBook)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    economics: EconomicsSettings = field(default_factory=EconomicsSettings)


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


def load_gateway_settings(env: Mapping[str, str]) -> GatewaySettings:
    """The gateway's settings from the environment; errors name the variable."""
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
        metrics_public=metrics_public in ("true", "1", "yes"),
        metrics_token=env.get("AIFINOPS_METRICS_TOKEN") or None,
        customer_to_provider=_choice(
            env, "AIFINOPS_CUSTOMER_TO_PROVIDER", "hash", ("hash", "plain", "off")
        ),
        customer_hash_salt=env.get("AIFINOPS_CUSTOMER_HASH_SALT", ""),
    )


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> Settings:
    """Read the environment (``os.environ`` by default) and the config file once."""
    env = os.environ if environ is None else environ
    explicit = config_path is not None or "AIFINOPS_CONFIG" in env
    path = config_path or Path(env.get("AIFINOPS_CONFIG", "./aifinops.yaml"))
    data: dict[str, Any] = {}
    if path.exists():
        data = load_config_file(path)
    elif explicit:
        raise ConfigError("AIFINOPS_CONFIG", f"config file {path} does not exist", str(path))
    return Settings(
        config_path=path if path.exists() else None,
        database_url=env.get("AIFINOPS_DATABASE_URL", "sqlite:///./aifinops.db"),
        redis_url=env.get("AIFINOPS_REDIS_URL") or None,
        rates=_load_rates(data, path) if data else RateBook(),
        gateway=load_gateway_settings(env),
        reports=load_report_settings(env),
        economics=_load_economics(data, path),
    )


def _load_economics(data: Mapping[str, Any], path: Path) -> EconomicsSettings:
    try:
        return parse_economics(data)
    except EconomicsConfigError as exc:
        raise ConfigError(exc.field, exc.message, str(path)) from None
