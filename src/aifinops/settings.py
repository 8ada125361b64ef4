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
)

_CONFIG_KEYS = frozenset({"rates", "rates_file"})
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
class Settings:
    config_path: Path | None = None
    database_url: str = "sqlite:///./aifinops.db"
    redis_url: str | None = None
    rates: RateBook = field(default_factory=RateBook)


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
    )
