"""The HTTP API under ``/api/v1`` (FastAPI): reads scoped to the caller, audited writes."""

from aifinops.api.app import create_api_app
from aifinops.api.server import create_server_app

__all__ = ["create_api_app", "create_server_app"]
