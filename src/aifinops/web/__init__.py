"""The dashboard: server-rendered pages over `/api/v1`, served by `aifinops serve` at `/`."""

from aifinops.web.app import create_dashboard_app, is_dashboard_path

__all__ = ["create_dashboard_app", "is_dashboard_path"]
