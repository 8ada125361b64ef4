"""Every endpoint × every role: allowed roles answer 2xx, the others 403; no token 401."""

from __future__ import annotations

import pytest

from tests.api.conftest import ROLES, Client, Filled

#: (method, path, body) of every endpoint; writes aim at ids that do not exist, so an
#: allowed role gets a 404 there and the ledger is unchanged.
READS: dict[str, str] = {
    "spend": "/api/v1/spend?from=2026-10-29&to=2026-10-31&by=team,day",
    "events": "/api/v1/events?limit=5",
    "keys": "/api/v1/keys",
    "tokens": "/api/v1/tokens",
    "rejections": "/api/v1/rejections",
    "health": "/api/v1/health",
    "audit": "/api/v1/audit",
    "ingest": "/api/v1/ingest",
    "reconcile": "/api/v1/reconcile?month=2026-10",
    "economics": "/api/v1/economics?from=2026-10-29&to=2026-10-31",
    "customers": "/api/v1/customers?from=2026-10-29&to=2026-10-31",
    "features": "/api/v1/features",
    "units": "/api/v1/units?limit=5",
    "budgets": "/api/v1/budgets",
    "budgets status": "/api/v1/budgets/status?at=2026-10-31T12:00:00Z",
    "gates": "/api/v1/gates",
    "waste": "/api/v1/waste?from=2026-10-29&to=2026-10-31",
    "alerts": "/api/v1/alerts?from=2026-10-01&to=2026-10-31",
    "routing whatif": "/api/v1/routing/whatif?month=2026-10",
}

#: Who may read what, written out here independently of `aifinops.api.roles.GRANTS`.
ALLOWED: dict[str, set[str]] = {
    "spend": {"admin", "finance", "team", "customer"},
    "events": {"admin", "finance", "team", "customer"},
    "keys": {"admin", "finance", "team"},
    "tokens": {"admin"},
    "rejections": {"admin", "finance", "team"},
    "health": {"admin", "finance", "metrics"},
    "audit": {"admin"},
    "ingest": {"admin", "finance"},
    "reconcile": {"admin", "finance"},
    "economics": {"admin", "finance", "team"},
    "customers": {"admin", "finance"},
    "features": {"admin", "finance", "team"},
    "units": {"admin", "finance", "team"},
    "budgets": {"admin", "finance", "team"},
    "budgets status": {"admin", "finance", "team"},
    "gates": {"admin", "finance", "team"},
    "waste": {"admin", "finance", "team"},
    "alerts": {"admin", "finance", "team"},
    "routing whatif": {"admin", "finance", "team"},
}

WRITES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "delete key": ("DELETE", "/api/v1/keys/doesnotexist", None),
    "delete token": ("DELETE", "/api/v1/tokens/doesnotexist", None),
    "create key (invalid)": ("POST", "/api/v1/keys", {"team": "bad team!"}),
    "create token (invalid)": ("POST", "/api/v1/tokens", {"role": "emperor"}),
}
#: An allowed writer gets past the role check to a 404 or 422; nobody else does.
WRITE_ANSWERS = {"delete key": 404, "delete token": 404}


def kind(role: str) -> str:
    return role.split(":", maxsplit=1)[0]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(READS))
def test_reads_by_role(client: Client, filled: Filled, endpoint: str, role: str) -> None:
    response = client.get(READS[endpoint], headers=filled.headers(role))
    if kind(role) in ALLOWED[endpoint]:
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), dict)
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden" and role.split(":", maxsplit=1)[0] in error["message"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", sorted(WRITES))
def test_writes_by_role(client: Client, filled: Filled, write: str, role: str) -> None:
    method, path, body = WRITES[write]
    response = client.request(method, path, json=body, headers=filled.headers(role))
    if role == "admin":
        assert response.status_code == WRITE_ANSWERS.get(write, 422), response.text
    else:
        assert response.status_code == 403, response.text
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("endpoint", sorted(READS))
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer aft_000000000000_nope", "Basic YWRtaW46YWRtaW4=", "token"],
)
def test_no_or_bad_token_is_401(client: Client, endpoint: str, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    response = client.get(READS[endpoint], headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_gateway_key_is_not_an_api_token(client: Client, filled: Filled) -> None:
    response = client.get(READS["spend"], headers={"authorization": f"Bearer {filled.gateway_key}"})
    assert response.status_code == 401
    assert "gateway keys are not API tokens" in response.json()["error"]["message"]


def test_unknown_routes_and_methods_use_the_error_shape(client: Client, filled: Filled) -> None:
    missing = client.get("/api/v1/nothing-here", headers=filled.headers("admin"))
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found", "field": None}}
    wrong = client.request("PUT", "/api/v1/spend", headers=filled.headers("admin"))
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
