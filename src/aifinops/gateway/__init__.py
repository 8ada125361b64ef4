"""The gateway: an ASGI proxy in front of the OpenAI and Anthropic APIs that attributes,
prices and records every call (see docs/gateway.md)."""

from aifinops.gateway.app import GatewayApp, create_gateway_app

__all__ = ["GatewayApp", "create_gateway_app"]
