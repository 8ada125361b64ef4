"""The dashboard's pure parts: money as shown, sparklines and gauges, the URL's view,
where a sign-in may lead, and which paths `aifinops serve` hands the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from starlette.requests import Request

from aifinops.api.roles import Role
from aifinops.web import is_dashboard_path
from aifinops.web.auth import Session, safe_next
from aifinops.web.filters import View
from aifinops.web.fmt import gauge, money, sparkline, usd
from aifinops.web.pages import month_forecast


@pytest.mark.parametrize(
    ("value", "fine", "shown"),
    [
        ("1234.565000000", False, "$1,234.56"),  # half-even, as the decimal string says
        ("1234.575000000", False, "$1,234.58"),
        ("0.000400000", True, "$0.0004"),
        ("-2.500000000", False, "-$2.50"),
        ("0.000000000", False, "$0.00"),
        (None, False, "n/a"),  # unpriced is never $0
    ],
)
def test_money_is_the_api_string_rounded(value: str | None, fine: bool, shown: str) -> None:
    assert usd(value, fine=fine) == shown
    html = str(money(value, fine=fine))
    assert f'data-usd="{value or ""}"' in html and f">{shown}<" in html


def test_money_escapes_what_it_is_given() -> None:
    assert "<script>" not in str(money('"><script>'))


def test_sparkline_gaps_and_gate_marks() -> None:
    svg = str(sparkline([1.0, 2.0, None, 3.0, 4.0], marks=[3], label="a <b>"))
    assert svg.count("<polyline") == 2  # None breaks the line
    assert svg.count("stroke-dasharray") == 1  # one gate decision
    assert "a &lt;b&gt;" in svg
    assert "no data" in str(sparkline([None, None]))


def test_gauge_marks_thresholds_and_the_hard_limit() -> None:
    svg = str(gauge(95.0, [50, 75, 90], 110, "threshold"))
    assert svg.count("<line") == 4 and "#d97706" in svg and "hard limit 110 %" in svg


def _request(query: str) -> Request:
    return Request({"type": "http", "query_string": query.encode(), "headers": []})


def test_view_defaults_to_this_month_and_keeps_the_query() -> None:
    today = date(2026, 11, 28)
    assert View.from_request(_request(""), today) == View("2026-11-01", "2026-11-28")
    view = View.from_request(_request("from=2026-12-05&team=sales&x=1"), today)
    assert (view.start, view.end, view.team) == ("2026-12-05", "2026-12-05", "sales")
    assert view.query() == "from=2026-12-05&to=2026-12-05&team=sales"
    assert view.query(team=None, feature="a b") == "from=2026-12-05&to=2026-12-05&feature=a+b"
    assert view.api() == {"from": "2026-12-05", "to": "2026-12-05", "team": "sales"}


def test_month_forecast_is_linear_in_the_elapsed_share() -> None:
    assert month_forecast("10.000000000", datetime(2026, 11, 16, tzinfo=UTC)) == "20.000000000"
    assert month_forecast(None, datetime(2026, 11, 16, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("target", "to"),
    [
        ("/teams?from=2026-11-01", "/teams?from=2026-11-01"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_sign_in_leads_only_to_this_site(target: str | None, to: str) -> None:
    assert safe_next(target) == to


def test_each_role_has_its_pages() -> None:
    def nav(role: str) -> list[str]:
        return [title for _, title in Session("t", Role.parse(role)).nav()]

    assert (
        nav("admin")
        == nav("finance")
        == [
            "Overview",
            "Teams",
            "Features",
            "Customers",
            "Models and waste",
        ]
    )
    assert nav("team:support") == ["Overview", "Teams", "Features", "Models and waste"]
    assert Session("t", Role.parse("customer:c-1")).home == "/customers/c-1"


@pytest.mark.parametrize(
    ("path", "dashboard"),
    [
        ("/", True),
        ("/login", True),
        ("/customers/cust-001", True),
        ("/static/chart.umd.min.js", True),
        ("/healthz", False),
        ("/metrics", False),
        ("/openai/v1/chat/completions", False),
        ("/anthropic/v1/messages", False),
        ("/teamsx", False),
    ],
)
def test_serve_hands_the_dashboard_its_paths_only(path: str, dashboard: bool) -> None:
    assert is_dashboard_path(path) is dashboard
