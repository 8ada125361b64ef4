"""The upstream side: one shared aiohttp session, and which headers cross the proxy.

aiohttp's client was chosen by measurement (reference/tooling-notes.md and
bench/gateway.py): about 0.45 ms added per call against httpx's ~2 ms.
"""

from __future__ import annotations

import aiohttp

from aifinops.gateway.routes import Route
from aifinops.settings import GatewaySettings

# Request headers never forwarded: hop-by-hop, recomputed, or the gateway's own.
_DROP_REQUEST = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
        "expect",
    }
)
_CREDENTIALS = frozenset({"authorization", "x-api-key"})
# Response headers never passed back: hop-by-hop, or no longer true after decoding.
DROP_RESPONSE = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "date",
        "server",
    }
)


def new_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(
        total=None,
        sock_connect=min(30.0, settings.upstream_timeout_s),
        sock_read=settings.upstream_timeout_s,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
    )


def upstream_url(settings: GatewaySettings, route: Route) -> str:
    base = settings.openai_base_url if route.provider == "openai" else settings.anthropic_base_url
    return base + route.upstream_path


def upstream_headers(
    raw: list[tuple[bytes, bytes]], route: Route, settings: GatewaySettings
) -> dict[str, str]:
    """The client's headers minus hop-by-hop and gateway ones, with the provider key.

    In pass-through mode the client's own provider credential goes on; otherwise the
    gateway's key replaces whatever the client sent (its gateway key).
    """
    out: dict[str, str] = {}
    for k, v in raw:
        name = k.decode("latin-1").lower()
        if name in _DROP_REQUEST or name.startswith("x-aifinops-"):
            continue
        if name in _CREDENTIALS and not settings.passthrough:
            continue
        out[name] = v.decode("latin-1")
    if not settings.passthrough:
        if route.provider == "openai" and settings.openai_api_key:
            out["authorization"] = f"Bearer {settings.openai_api_key}"
        elif route.provider == "anthropic" and settings.anthropic_api_key:
            out["x-api-key"] = settings.anthropic_api_key
    out["content-type"] = "application/json"
    return out


def has_provider_key(route: Route, settings: GatewaySettings) -> bool:
    if settings.passthrough:
        return True
    key = settings.openai_api_key if route.provider == "openai" else settings.anthropic_api_key
    return bool(key)
