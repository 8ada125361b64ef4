"""One real `aifinops serve` process: first start prints an admin token once, and the API,
the gateway's /healthz and /metrics answer on the same port."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import schema_url
from tests.gateway.procs import gateway_env, gateway_process


def _admin_tokens(log: Path) -> list[str]:
    return [line.strip() for line in log.read_text().splitlines() if line.startswith("aft_")]


def test_serve_prints_an_admin_token_at_first_start_only(
    ledger_url: tuple[str, str | None], tmp_path: Path
) -> None:
    base, schema = ledger_url  # an empty ledger on each backend
    url = schema_url(base, schema) if schema else base
    env = gateway_env("http://127.0.0.1:9", url, tmp_path / "s")
    env["AIFINOPS_METRICS_TOKEN"] = ""
    log = tmp_path / "serve.log"
    with gateway_process(env, log) as proc:
        (token,) = _admin_tokens(log)
        assert "First start: created an admin API token" in log.read_text()
        auth = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=proc.url, timeout=10) as client:
            health = client.get("/api/v1/health", headers=auth)
            assert health.status_code == 200 and health.json()["recorder"]["ledger_up"]
            assert client.get("/api/v1/spend", headers=auth).json()["rows"] == []
            assert client.get("/api/v1/spend").status_code == 401
            assert client.get("/metrics", headers=auth).status_code == 200
            assert client.get("/healthz").json()["status"] == "ok"
            assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
            audit = client.get("/api/v1/audit", headers=auth).json()["rows"]
            assert [(a["actor"], a["action"]) for a in audit] == [("serve", "tokens.create")]
    with gateway_process(env, log):
        assert len(_admin_tokens(log)) == 1  # not shown (nor made) again
