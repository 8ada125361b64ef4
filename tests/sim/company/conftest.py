"""One default synthetic company per test session (generated into a temporary directory)."""

from __future__ import annotations

import pytest

from aifinops.sim.company import generate
from tests.sim.company.dataset import Company, load_company


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    out = tmp_path_factory.mktemp("company")
    return load_company(out, generate(out))
