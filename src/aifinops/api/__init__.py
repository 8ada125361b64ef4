"""The HTTP API under ``/api/v1`` (FastAPI): reads scoped to the caller, audited writes.

`create_api_app` and `create_server_app` are loaded on first use, so commands that only
need the API's small modules (the audit log, roles, tokens) do not import FastAPI and
the gateway at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.api.app import create_api_app
    from aifinops.api.server import create_server_app

__all__ = ["create_api_app", "create_server_app"]
_HOMES = {"create_api_app": "aifinops.api.app", "create_server_app": "aifinops.api.server"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
