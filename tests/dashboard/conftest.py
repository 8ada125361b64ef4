"""A real `aifinops serve` on the synthetic company (three days ending yesterday, with
outcomes, budgets and refused requests), Debian's headless Chromium driven by
Playwright, and a token for every role.

Playwright never downloads a browser here: it drives /usr/bin/chromium, which
``make test`` installs from Debian's packages (tools/install-chromium). Without it the
browser tests skip with the reason shown, and fail under AIFINOPS_TEST_REQUIRE_SERVICES=1,
as tests/conftest.py does for PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from aifinops.api.roles import Role
from aifinops.api.tokens import create_token
from aifinops.economics.outcomes import import_outcome_rows
from aifinops.governance.runner import run_alerts
from aifinops.governance.store import put_budget
from aifinops.ingest.events import import_events
from aifinops.ingest.files import iter_rows
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import gateway_rejections
from aifinops.optimize.evals import parse_eval_rows, read_eval_file, write_evals
from aifinops.pricing import PricingEngine
from aifinops.settings import Settings, load_settings
from aifinops.sim.company import CONFIG_FILE, EVENTS_FILE, OUTCOMES_FILE, CompanyOptions, generate
from aifinops.usage import flat_from_record
from tests.gateway.procs import Proc, gateway_env, gateway_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Run-time budgets small enough that the company's spend fires every threshold.
TINY_BUDGETS = (
    {"id": "support-tiny", "scope": "team", "name": "support", "amount_usd": "0.01"},
    {"id": "sales-tiny", "scope": "team", "name": "sales", "amount_usd": "0.01"},
)
ROLES = (
    "admin",
    "finance",
    "team:support",
    "team:sales",
    "customer:cust-001",
    "customer:cust-004",
    "ingest",
)


@dataclass
class Company:
    url: str  # the serve process's base URL
    tokens: dict[str, str]  # role → API token
    first: date
    last: date
    folder: Path

    @property
    def range(self) -> str:
        return f"from={self.first}&to={self.last}"

    def get(self, role: str, path: str, **params: Any) -> httpx.Response:
        """``GET /api/v1{path}`` as ``role``."""
        return httpx.get(
            f"{self.url}/api/v1{path}",
            params={k: v for k, v in params.items() if v is not None},
            headers={"authorization": f"Bearer {self.tokens[role]}"},
            timeout=30,
        )

    def api(self, role: str, path: str, **params: Any) -> dict[str, Any]:
        """The API's answer as ``role``: what the page must agree with."""
        response = self.get(role, path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _rejections(last: date) -> list[dict[str, Any]]:
    reasons = ("budget_throttled", "budget_throttled", "unknown_key", "budget_blocked")
    return [
        {
            "rejection_id": f"dash-rej{i:03d}",
            "ts": datetime(last.year, last.month, last.day, i % 24, tzinfo=UTC),
            "status": 401 if reasons[i % 4] == "unknown_key" else 429,
            "reason": reasons[i % 4],
            "provider": "openai",
            "path": "/openai/v1/chat/completions",
            "team": ("support", "success", "sales")[i % 3],
        }
        for i in range(15)
    ]


def fill_company(folder: Path) -> tuple[str, dict[str, str], date, date]:
    """The company's events and outcomes in a fresh SQLite ledger; a token per role."""
    end = datetime.now(UTC).date() - timedelta(days=1)
    result = generate(folder, CompanyOptions(days=3, end=end, scale=0.1, customers=8))
    url = f"sqlite:///{folder / 'ledger.db'}"
    engine = open_ledger(url)
    settings = load_settings({}, config_path=folder / CONFIG_FILE)
    try:
        with (folder / EVENTS_FILE).open(encoding="utf-8") as stream:
            import_events(
                engine,
                PricingEngine(),
                iter_rows(stream, "jsonl"),
                flat_from_record,
                on_reject=lambda r: pytest.fail(str(r)),
            )
        teams = {f.name: f.team for f in settings.economics.features if f.team}
        with (folder / OUTCOMES_FILE).open(encoding="utf-8") as stream:
            import_outcome_rows(
                engine,
                iter_rows(stream, "jsonl"),
                on_reject=lambda r: pytest.fail(str(r)),
                feature_teams=teams,
            )
        tokens: dict[str, str] = {}
        with engine.begin() as conn:
            for role in ROLES:
                tokens[role] = create_token(conn, Role.parse(role), f"dashboard {role}")[1]
            conn.execute(gateway_rejections.insert(), _rejections(result.window.last_day))
            for raw in TINY_BUDGETS:
                put_budget(conn, dict(raw), "cli:test", "cli", config=settings.budgets)
        _evals_and_alerts(engine, settings, folder, result.window.last_day)
    finally:
        engine.dispose()
    return url, tokens, result.window.first_day, result.window.last_day


def _evals_and_alerts(engine: Engine, settings: Settings, folder: Path, last: date) -> None:
    """The company's eval scores (for the routing what-if), and the alerts its budgets
    raise at the end of its last day (fired then, so inside the company's range)."""
    records, errors = parse_eval_rows(read_eval_file(folder / "evals.csv", None), "evals.csv")
    assert not errors and records
    write_evals(engine, records, "evals.csv")
    at = datetime(last.year, last.month, last.day, 23, 0, tzinfo=UTC)
    assert run_alerts(engine, settings, at=at).new


@pytest.fixture(scope="session")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"the dashboard tests need Debian's Chromium at {CHROMIUM} "
        "(`make test` installs it as root: tools/install-chromium)"
    )
    if os.environ.get("AIFINOPS_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    folder = tmp_path_factory.mktemp("dashboard-company")
    url, tokens, first, last = fill_company(folder)
    env = gateway_env(
        "http://127.0.0.1:9",
        url,
        folder / "spool",
        AIFINOPS_CONFIG=str(folder / CONFIG_FILE),
        AIFINOPS_ALERT_INTERVAL_S="3600",
    )
    with gateway_process(env, folder / "serve.log") as proc:
        yield Company(proc.url, tokens, first, last, folder)


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """A browser context signed in as one role, recording console errors."""

    def __init__(self, browser: Any, company: Company) -> None:
        self.company = company
        self.context = browser.new_context(base_url=company.url)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def login(self, role: str) -> None:
        self.page.goto("/login")
        self.page.fill("#token", self.company.tokens[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def go(self, path: str) -> Any:
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        return response

    def usd(self, selector: str) -> str:
        """The exact API string behind a money figure (``data-usd``)."""
        value: str = self.page.locator(selector).locator(".usd").first.get_attribute("data-usd")
        return value

    def text(self, selector: str) -> str:
        value: str = self.page.locator(selector).first.inner_text()
        return value.strip()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, company: Company) -> Iterator[Any]:
    """``visit(role)`` → a signed-in `Visit`; all closed at the end."""
    opened: list[Visit] = []

    def open_as(role: str | None) -> Visit:
        v = Visit(browser, company)
        opened.append(v)
        if role is not None:
            v.login(role)
        return v

    yield open_as
    for v in opened:
        v.close()


__all__ = ["Company", "Proc", "Visit"]
