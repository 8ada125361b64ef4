"""The gateway: an ASGI proxy in front of the OpenAI and Anthropic APIs that attributes,
prices and records every call (see docs/gateway.md).

`GatewayApp` and `create_gateway_app` are loaded on first use, so the gateway's small
modules (errors, guard hooks) can be imported by the capabilities that plug into it
(budgets) without importing the whole app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.gateway.app import GatewayApp, create_gateway_app

__all__ = ["GatewayApp", "create_gateway_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("aifinops.gateway.app"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
