"""Tokens and keys: secrets shown once, only hashes stored, every write audited (API and CLI);
gateway keys and API tokens are never each other; /metrics takes metrics and admin tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.api.roles import Role
from aifinops.api.server import create_server_app
from aifinops.api.tokens import create_token, hash_token
from aifinops.cli import app
from aifinops.gateway.keys import create_key
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema_api import api_tokens, audit_log
from aifinops.settings import load_settings
from tests.api.conftest import Client, schema_url

runner = CliRunner()


@pytest.fixture
def fresh(
    ledger_url: tuple[str, str | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, str]]:
    """An empty ledger of this test's own on each backend (PostgreSQL: a schema of its own,
    dropped afterwards), so that writes never reach another test."""
    base, schema = ledger_url
    url = schema_url(base, schema) if schema else base
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.setenv("AIFINOPS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.delenv("AIFINOPS_METRICS_TOKEN", raising=False)
    engine = open_ledger(url)
    yield engine, url
    engine.dispose()


@pytest.fixture
def server(fresh: tuple[Engine, str]) -> Iterator[tuple[Client, Engine, str]]:
    engine, _ = fresh
    with engine.begin() as conn:
        _, admin = create_token(conn, Role.parse("admin"), "test admin")
    client = Client(create_server_app(load_settings(), engine=engine))
    yield client, engine, admin
    client.close()


def _audit(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.ts))]


def test_cli_tokens_create_list_revoke_are_audited(fresh: tuple[Engine, str]) -> None:
    engine, _ = fresh
    created = runner.invoke(app, ["tokens", "create", "--role", "team:support", "--name", "lead"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("aft_") and created.stdout.count(secret) == 1
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).mappings().one()
    assert stored["token_hash"] == hash_token(secret) and secret not in str(dict(stored))
    listed = runner.invoke(app, ["tokens", "list", "--format", "json"])
    assert '"role": "team:support"' in listed.stdout and secret not in listed.stdout
    revoked = runner.invoke(app, ["tokens", "revoke", stored["token_id"]])
    assert revoked.exit_code == 0
    again = runner.invoke(app, ["tokens", "revoke", stored["token_id"]])
    assert again.exit_code == 1 and "no active API token" in again.stderr
    bad = runner.invoke(app, ["tokens", "create", "--role", "team:"])
    assert bad.exit_code == 2 and "--role" in bad.stderr
    entries = _audit(engine)
    assert [e["action"] for e in entries] == ["tokens.create", "tokens.revoke"]
    assert all(e["via"] == "cli" and e["actor"].startswith("cli:") for e in entries)
    assert entries[1]["before_state"]["revoked_at"] is None
    assert entries[1]["after_state"]["revoked_at"] is not None
    assert secret not in str(entries)


def test_cli_keys_create_revoke_rotate_are_audited(fresh: tuple[Engine, str]) -> None:
    engine, _ = fresh
    created = runner.invoke(app, ["keys", "create", "--team", "search", "--name", "prod"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    key_id = created.stdout.split("created key ")[1].split()[0]
    rotated = runner.invoke(app, ["keys", "rotate", key_id])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.stdout.strip().splitlines()[-1]
    new_id = rotated.stdout.split("created key ")[1].split()[0]
    assert runner.invoke(app, ["keys", "revoke", new_id]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", new_id]).exit_code == 1  # nothing to audit
    entries = _audit(engine)
    assert [(e["action"], e["target"]) for e in entries] == [
        ("keys.create", key_id),
        ("keys.rotate", key_id),
        ("keys.revoke", new_id),
    ]
    assert all(e["via"] == "cli" and e["actor"].startswith("cli:") for e in entries)
    assert entries[0]["before_state"] is None and entries[0]["after_state"]["team"] == "search"
    assert entries[1]["after_state"]["rotated_from"] == key_id
    assert entries[2]["before_state"]["revoked_at"] is None
    assert entries[2]["after_state"]["revoked_at"] is not None
    assert secret not in str(entries) and new_secret not in str(entries)


def test_api_writes_show_secrets_once_and_are_audited(
    server: tuple[Client, Engine, str],
) -> None:
    client, _, admin = server
    headers = {"authorization": f"Bearer {admin}"}
    made = client.request("POST", "/api/v1/tokens", json={"role": "finance"}, headers=headers)
    assert made.status_code == 201
    token = made.json()
    assert token["secret"].startswith("aft_") and token["token"]["role"] == "finance"
    listed = client.get("/api/v1/tokens", headers=headers).text
    assert token["token"]["token_id"] in listed and token["secret"] not in listed
    finance = {"authorization": f"Bearer {token['secret']}"}
    assert client.get("/api/v1/spend", headers=finance).status_code == 200
    key = client.request("POST", "/api/v1/keys", json={"team": "search"}, headers=headers)
    assert key.status_code == 201 and key.json()["secret"].startswith("afk_")
    key_id = key.json()["key"]["key_id"]
    assert key.json()["secret"] not in client.get("/api/v1/keys", headers=headers).text
    assert client.request("DELETE", f"/api/v1/keys/{key_id}", headers=headers).status_code == 200
    gone = client.request("DELETE", f"/api/v1/tokens/{token['token']['token_id']}", headers=headers)
    assert gone.status_code == 200 and gone.json()["token"]["revoked_at"]
    assert client.get("/api/v1/spend", headers=finance).status_code == 401  # revoked at once
    audit = client.get("/api/v1/audit", headers=headers).json()["rows"]
    assert [a["action"] for a in audit] == [
        "tokens.revoke",
        "keys.revoke",
        "keys.create",
        "tokens.create",
    ]
    actor = f"token:{token['token']['created_by'].split(':')[1]}"
    assert all(a["actor"] == actor and a["via"] == "api" for a in audit)
    assert audit[1]["before"]["revoked_at"] is None and audit[1]["after"]["revoked_at"]
    everything = str(audit)
    assert token["secret"] not in everything and key.json()["secret"] not in everything


def test_an_api_token_is_not_a_gateway_key(server: tuple[Client, Engine, str]) -> None:
    client, _, admin = server
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    response = client.request(
        "POST",
        "/openai/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {admin}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"]  # the provider's own error shape, not the API's


def test_metrics_take_metrics_and_admin_tokens_only(server: tuple[Client, Engine, str]) -> None:
    client, engine, admin = server
    with engine.begin() as conn:
        tokens = {
            role: create_token(conn, Role.parse(role))[1]
            for role in ("metrics", "finance", "team:a", "customer:b", "ingest")
        }
        _, gateway_key = create_key(conn, "a")
    for role, secret in [("admin", admin), ("metrics", tokens["metrics"])]:
        page = client.get("/metrics", headers={"authorization": f"Bearer {secret}"})
        assert page.status_code == 200, role
        assert "aifinops_recorder_queue_depth" in page.text
    for secret in [tokens["finance"], tokens["team:a"], tokens["customer:b"], gateway_key, "x"]:
        assert (
            client.get("/metrics", headers={"authorization": f"Bearer {secret}"}).status_code == 401
        )
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_health_reports_the_recorder(server: tuple[Client, Engine, str]) -> None:
    client, _, admin = server
    health = client.get("/api/v1/health", headers={"authorization": f"Bearer {admin}"}).json()
    assert health["status"] == "ok"
    assert health["recorder"] == {
        "queue_depth": 0,
        "spool_bytes": 0,
        "written": 0,
        "ledger_up": True,
        "last_error": None,
        "last_write_at": None,  # nothing recorded yet
    }
