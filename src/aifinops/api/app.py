"""`create_api_app(settings, engine, …)`: the FastAPI app of ``/api/v1``.

Its routes carry the full ``/api/v1/…`` paths, so it can be served on its own (tests)
or behind `aifinops.api.server.ServerApp`, which hands it every ``/api/`` request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from aifinops import __version__
from aifinops.api.admin_routes import audit_router, keys_router, tokens_router
from aifinops.api.alert_routes import alerts_router
from aifinops.api.budget_routes import budgets_router
from aifinops.api.context import ApiContext, RecorderProbe
from aifinops.api.economics_routes import economics_router, features_router, showback_router
from aifinops.api.errors import install_error_handlers
from aifinops.api.gate_routes import gates_router
from aifinops.api.models import ErrorBody
from aifinops.api.read_routes import read_router
from aifinops.api.report_routes import report_router
from aifinops.api.waste_routes import waste_router
from aifinops.api.whatif_routes import whatif_router
from aifinops.settings import Settings

PREFIX = "/api/v1"

#: Errors every operation may answer, all in the one error shape.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A bad parameter (``field`` names it)."},
    401: {"model": ErrorBody, "description": "No API token, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The token's role may not do this."},
    422: {"model": ErrorBody, "description": "A bad request body (``field`` names it)."},
}

DESCRIPTION = """\
The aifinops HTTP API. Authenticate with `Authorization: Bearer <API token>` (create one
with `aifinops tokens create --role …`). Roles: `admin`, `finance`, `team:T`,
`customer:C`, `ingest`, `metrics`; a team or customer token only ever sees its own rows.
Errors: `{"error": {"code", "message", "field"}}`. Money: decimal strings in USD in
fields ending `_usd`.
"""


def create_api_app(
    settings: Settings, engine: Engine, *, recorder: RecorderProbe | None = None
) -> FastAPI:
    """The API on ``engine``; ``recorder`` reports the gateway recorder's health, if any."""
    ctx = ApiContext(settings, engine, recorder)
    app = FastAPI(
        title="aifinops API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(app)
    for router in (read_router(ctx), keys_router(ctx), tokens_router(ctx), audit_router(ctx)):
        app.include_router(router, prefix=PREFIX, responses=COMMON_ERRORS)
    app.include_router(report_router(ctx), prefix=PREFIX, responses=COMMON_ERRORS)
    for router in (economics_router(ctx), showback_router(ctx), features_router(ctx)):
        app.include_router(router, prefix=PREFIX, responses=COMMON_ERRORS)
    app.include_router(budgets_router(ctx), prefix=PREFIX, responses=COMMON_ERRORS)
    app.include_router(gates_router(ctx), prefix=PREFIX, responses=COMMON_ERRORS)
    for router in (alerts_router(ctx), waste_router(ctx), whatif_router(ctx)):
        app.include_router(router, prefix=PREFIX, responses=COMMON_ERRORS)
    return app
