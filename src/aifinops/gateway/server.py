"""The app factory uvicorn imports in each worker process (``--workers N``)."""

from __future__ import annotations

from aifinops.gateway.app import GatewayApp, create_gateway_app
from aifinops.settings import load_settings


def app_from_environment() -> GatewayApp:
    """Settings are read once, in the worker, from the same environment as the CLI."""
    return create_gateway_app(load_settings())
