"""The ``gateway:`` section of the config file, as the gateway's environment variables.

Each key of the section stands for one ``AIFINOPS_*`` variable (`GATEWAY_KEYS`) and is
turned into that variable's text, so one set of validators (in `aifinops.settings`)
checks a value wherever it came from; a variable that is set wins over the file. The
server's own ``host``, ``port`` and ``workers`` (`SERVE_KEYS`) are overridden by the
``aifinops serve`` options instead.

Secrets are never read from the file: ``openai_api_key: sk-…`` is an error. The file may
name the environment variable that holds one (``openai_api_key_env: OPENAI_KEY_PROD``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

#: key of the section → the environment variable it stands for
GATEWAY_KEYS: dict[str, str] = {
    "openai_base_url": "AIFINOPS_OPENAI_BASE_URL",
    "anthropic_base_url": "AIFINOPS_ANTHROPIC_BASE_URL",
    "provider_keys": "AIFINOPS_PROVIDER_KEYS",
    "required_tags": "AIFINOPS_REQUIRED_TAGS",
    "required_tags_mode": "AIFINOPS_REQUIRED_TAGS_MODE",
    "max_body_bytes": "AIFINOPS_MAX_BODY_BYTES",
    "upstream_timeout_s": "AIFINOPS_UPSTREAM_TIMEOUT_S",
    "spool_dir": "AIFINOPS_SPOOL_DIR",
    "recorder_queue_max": "AIFINOPS_RECORDER_QUEUE_MAX",
    "metrics_public": "AIFINOPS_METRICS_PUBLIC",
    "customer_to_provider": "AIFINOPS_CUSTOMER_TO_PROVIDER",
    "budget_fail_mode": "AIFINOPS_BUDGET_FAIL_MODE",
    "budget_output_ceiling": "AIFINOPS_BUDGET_OUTPUT_CEILING",
    "redis_prefix": "AIFINOPS_REDIS_PREFIX",
}
#: secret → the variable that holds it; the file may only name another one (``<key>_env``)
SECRET_KEYS: dict[str, str] = {
    "openai_api_key": "OPENAI_API_KEY",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "metrics_token": "AIFINOPS_METRICS_TOKEN",
    "customer_hash_salt": "AIFINOPS_CUSTOMER_HASH_SALT",
}
#: the server's listening address and worker count: (smallest, largest) for the numbers
SERVE_KEYS: dict[str, tuple[int, int] | None] = {
    "host": None,
    "port": (0, 65535),
    "workers": (1, 256),
}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")


class GatewayConfigError(ValueError):
    """A bad ``gateway`` entry; ``field`` names it (``gateway.port``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def known_keys() -> list[str]:
    return sorted([*GATEWAY_KEYS, *SERVE_KEYS, *(f"{k}_env" for k in SECRET_KEYS)])


def _text(key: str, value: object, config_dir: Path) -> str:
    where = f"gateway.{key}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if key == "required_tags" and isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise GatewayConfigError(where, "must be a list of header names (feature, customer)")
        return ",".join(value)
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise GatewayConfigError(where, "must be a single value (text, number or true/false)")
    if key == "spool_dir":
        return str((config_dir / value).resolve())  # relative to the config file
    return value


def _secret(key: str, name: object, env: Mapping[str, str]) -> str | None:
    """The secret held by the variable that ``<key>_env`` names (None: not set)."""
    where = f"gateway.{key}_env"
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise GatewayConfigError(
            where,
            "must be the NAME of an environment variable (capitals, digits, _) that holds "
            "the secret, never the secret itself",
        )
    if env.get(SECRET_KEYS[key]):
        return None  # the standard variable is set: it wins
    # unset: the secret stays unset, as without the standard variable (every command
    # reads this file, and only `aifinops serve` needs the gateway's secrets)
    return env.get(name) or None


def gateway_environment(
    section: object, env: Mapping[str, str], config_dir: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """The section as variable → text (set variables not included), and variable → the
    section's field it came from (to name it in an error)."""
    if section is None:
        return {}, {}
    if not isinstance(section, Mapping):
        raise GatewayConfigError("gateway", "must be a mapping of settings (port: 8787, …)")
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    for key, value in section.items():
        name = str(key)
        if name in SECRET_KEYS:
            raise GatewayConfigError(
                f"gateway.{name}",
                "secrets are never read from the config file: set "
                f"{SECRET_KEYS[name]} in the environment, or name the variable that holds "
                f"it with {name}_env: NAME",
            )
        if name.endswith("_env") and name.removesuffix("_env") in SECRET_KEYS:
            secret = _secret(name.removesuffix("_env"), value, env)
            variable = SECRET_KEYS[name.removesuffix("_env")]
        elif name in GATEWAY_KEYS:
            secret = _text(name, value, config_dir)
            variable = GATEWAY_KEYS[name]
        elif name in SERVE_KEYS:
            continue  # read by `serve_options`
        else:
            raise GatewayConfigError(
                f"gateway.{name}", f"unknown setting; known: {', '.join(known_keys())}"
            )
        if secret is not None:
            values[variable] = secret
            origin[variable] = f"gateway.{name}"
    return values, origin


def serve_options(section: object) -> tuple[str, int, int]:
    """(host, port, workers) of the section, with the defaults of ``aifinops serve``."""
    raw: Mapping[str, object] = section if isinstance(section, Mapping) else {}
    host = raw.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host.strip():
        raise GatewayConfigError("gateway.host", "must be an interface address (0.0.0.0, ::1)")
    numbers: list[int] = []
    for key, default in (("port", 8787), ("workers", 1)):
        value = raw.get(key, default)
        low, high = SERVE_KEYS[key] or (0, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise GatewayConfigError(
                f"gateway.{key}", f"must be a whole number from {low} to {high}, not {value!r}"
            )
        numbers.append(value)
    return host.strip(), numbers[0], numbers[1]
