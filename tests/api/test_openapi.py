"""schemathesis against /api/v1/openapi.json: no 5xx for any generated request, and every
response (errors included) matches its documented schema, status and content type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import BaseSchema

from aifinops.api import create_api_app
from aifinops.settings import Settings
from tests.api.conftest import BACKENDS, Filled, filled_ledger


@pytest.fixture(scope="module", params=BACKENDS)
def own(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    """A ledger of this module's own on each backend: the generated requests write to it."""
    with filled_ledger(request, tmp_path_factory, "openapi") as data:
        yield data


@pytest.fixture(scope="module")
def own_app(own: Filled) -> FastAPI:
    return create_api_app(Settings(), own.engine)


@pytest.fixture(scope="module")
def api_schema(own_app: FastAPI) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", own_app)


#: `positive_data_acceptance` expects every schema-valid request to succeed, but some
#: rules are beyond JSON Schema (2026-02-30 is not a date; ``to`` after ``from``; ``by``
#: names known dimensions): those are a 400 naming the parameter (tests/api/test_spend.py).
EXCLUDED = [positive_data_acceptance]


# `schemathesis.pytest.from_fixture` needs `Function._nodeid`, which pytest 9 no longer
# has; so each operation's hypothesis strategy is driven here directly instead.
def _check_every_operation(api_schema: BaseSchema, own: Filled, role: str, examples: int) -> int:
    headers = {"Authorization": own.headers(role)["authorization"]}  # as the scheme spells it
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        check()
        operations += 1
    return operations


def test_every_operation_as_admin(api_schema: BaseSchema, own: Filled) -> None:
    assert _check_every_operation(api_schema, own, "admin", 30) == 29


@pytest.mark.parametrize("role", ["customer:cust-001", "metrics"])
def test_every_operation_as_a_narrow_role(api_schema: BaseSchema, own: Filled, role: str) -> None:
    assert _check_every_operation(api_schema, own, role, 5) == 29


def test_the_document_names_the_error_shape(own_app: FastAPI, tmp_path: Path) -> None:
    doc = own_app.openapi()
    assert doc["info"]["title"] == "aifinops API"
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        assert path.startswith("/api/v1/")
        for operation in operations.values():
            for status in ("400", "401", "403", "422"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorBody"}
            assert operation["security"] == [{"ApiToken": []}]
