"""Signing in: no page without a token, the cookie scripts cannot read, and what each
role sees (a team its team, a customer its statement)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from aifinops.web.fmt import usd
from tests.dashboard.conftest import Company

PAGES = ("/", "/teams", "/features", "/customers", "/customers/cust-001", "/models")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("cookie", [None, "aft_not_a_token", "revoked"])
def test_no_page_is_reachable_without_a_valid_token(
    company: Company, path: str, cookie: str | None
) -> None:
    cookies = {} if cookie is None else {"aifinops_session": cookie}
    if cookie == "revoked":
        cookies["aifinops_session"] = company.tokens["ingest"]  # a token with no reads
    response = httpx.get(f"{company.url}{path}?team=x", cookies=cookies, timeout=10)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [f"{path}?team=x"]
    assert company.tokens["admin"] not in response.text


def test_the_browser_is_sent_to_login_and_back(visit: Any, company: Company) -> None:
    v = visit(None)
    v.go(f"/teams?{company.range}")
    assert urlsplit(v.page.url).path == "/login"
    v.page.fill("#token", company.tokens["finance"])
    v.page.click("button[type=submit]")
    v.page.wait_for_load_state()
    assert v.page.url == f"{company.url}/teams?{company.range}"
    assert v.errors == []


def test_cookie_is_httponly_and_samesite(visit: Any, company: Company) -> None:
    v = visit("admin")
    (cookie,) = v.context.cookies()
    assert cookie["name"] == "aifinops_session"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert "aifinops_session" not in v.page.evaluate("() => document.cookie")
    v.page.click("form.logout button")
    v.page.wait_for_load_state()
    assert urlsplit(v.page.url).path == "/login"
    assert v.context.cookies() == []
    v.go("/")
    assert urlsplit(v.page.url).path == "/login"


def test_logout_is_a_post_only(company: Company) -> None:
    """A GET (a link or an image on another site) cannot sign anyone out."""
    login = httpx.post(f"{company.url}/login", data={"token": company.tokens["admin"]}, timeout=10)
    assert login.status_code == 303
    cookies = {"aifinops_session": login.cookies["aifinops_session"]}
    response = httpx.get(f"{company.url}/logout", cookies=cookies, timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "set-cookie" not in response.headers
    page = httpx.get(f"{company.url}/teams?{company.range}", cookies=cookies, timeout=30)
    assert page.status_code == 200  # still signed in
    out = httpx.post(f"{company.url}/logout", cookies=cookies, timeout=10)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "aifinops_session=" in out.headers["set-cookie"]


def test_a_bad_token_or_a_role_without_reads_is_refused(company: Company) -> None:
    for token, says in (
        ("aft_wrong", "Unknown or revoked API token"),
        (company.tokens["ingest"], "A ingest token cannot read the dashboard"),
    ):
        response = httpx.post(f"{company.url}/login", data={"token": token}, timeout=10)
        assert response.status_code == 401
        assert says in response.text
        assert "set-cookie" not in response.headers


def test_one_click_login_url_keeps_the_token_out_of_the_request(
    visit: Any, company: Company
) -> None:
    v = visit(None)
    requested: list[str] = []
    v.page.on("request", lambda r: requested.append(r.url))
    v.go(f"/login#token={company.tokens['admin']}")
    v.page.wait_for_url(f"{company.url}/")
    assert v.page.locator("#spend-total").count() == 1
    assert all(company.tokens["admin"] not in url for url in requested)
    assert v.errors == []


def test_team_token_sees_only_its_team(visit: Any, company: Company) -> None:
    v = visit("team:support")
    assert urlsplit(v.page.url).path == "/"
    v.go(f"/?{company.range}")
    teams = v.page.locator("#teams tbody tr").evaluate_all("rows => rows.map(r => r.dataset.team)")
    assert teams == ["support"]
    period = {"from": str(company.first), "to": str(company.last)}
    own = company.api("team:support", "/spend", by="team", **period)["totals"]
    everyone = company.api("admin", "/spend", by="team", **period)["totals"]
    assert v.usd("#spend-total") == own["effective_cost_usd"] != everyone["effective_cost_usd"]
    nav = v.page.locator("header.top nav a").all_inner_texts()
    assert "Customers" not in nav and "Overview" in nav
    assert v.text("#role") == "team:support"
    # a filter cannot leave the token's scope
    v.go(f"/?{company.range}&team=sales")
    assert v.usd("#spend-total") == "0.000000000"
    # budgets: only the team's own
    v.go(f"/teams?{company.range}")
    budgets = v.page.locator("#gauges tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.budget)"
    )
    assert budgets == ["team:support", "support-tiny"]  # the config's and a run-time one
    # the showback of every customer is not for a team token
    assert v.errors == []
    response = v.go(f"/customers?{company.range}")
    assert response.status == 403
    assert "may not read this page" in v.text("#api-error")
    assert [e for e in v.errors if "403 (Forbidden)" not in e] == []
    v.errors.clear()
    v.go(f"/features?{company.range}")
    features = company.api("team:support", "/economics", **period)["rows"]
    by_team = company.api("team:support", "/economics", by="feature,team", **period)["rows"]
    assert {r["team"] for r in by_team} == {"support"}
    assert v.page.locator("#economics tbody tr").count() == len(features) > 0
    assert v.errors == []


def test_customer_token_sees_only_its_statement(visit: Any, company: Company) -> None:
    v = visit("customer:cust-001")
    assert urlsplit(v.page.url).path == "/customers/cust-001"
    for path in ("/", "/teams", "/features", "/customers", "/models", "/customers/cust-004"):
        v.go(f"{path}?{company.range}")
        assert urlsplit(v.page.url).path == "/customers/cust-001", path
    v.go(f"/customers/cust-001?{company.range}")
    period = {"from": str(company.first), "to": str(company.last)}
    statement = company.api("customer:cust-001", "/customers/cust-001/statement", **period)
    total = statement["totals"]["total_spend_usd"]
    assert v.usd("#statement-total_spend_usd") == total
    assert v.text("#statement-total_spend_usd") == usd(total)
    assert v.text("#statement-customer") == "cust-001"
    assert v.page.locator("header.top nav a").all_inner_texts() == ["Statement"]
    assert "cust-004" not in v.page.content()
    assert v.errors == []


def test_filters_live_in_the_url_and_change_the_figures(visit: Any, company: Company) -> None:
    v = visit("admin")
    v.go(f"/?{company.range}")
    before = v.usd("#spend-total")
    v.page.fill("input[name=team]", "support")
    v.page.click("#filters button[type=submit]")
    v.page.wait_for_load_state()
    query = parse_qs(urlsplit(v.page.url).query)
    assert query == {"from": [str(company.first)], "to": [str(company.last)], "team": ["support"]}
    period = {"from": str(company.first), "to": str(company.last)}
    support = company.api("admin", "/spend", by="team", team="support", **period)["totals"]
    assert v.usd("#spend-total") == support["effective_cost_usd"] != before
    # one day only: the URL, the figure, and the chart's days change
    v.page.fill("input[name=from]", str(company.last))
    v.page.click("#filters button[type=submit]")
    v.page.wait_for_load_state()
    assert parse_qs(urlsplit(v.page.url).query)["from"] == [str(company.last)]
    day = company.api(
        "admin", "/spend", by="team", team="support", **{**period, "from": str(company.last)}
    )["totals"]
    assert v.usd("#spend-total") == day["effective_cost_usd"] != support["effective_cost_usd"]
    labels = v.page.evaluate("() => Object.values(window.Chart.instances)[0].data.labels")
    assert labels == [str(company.last)]
    # the shared URL shows the same view to another signed-in user
    other = visit("finance")
    other.go(urlsplit(v.page.url)._replace(scheme="", netloc="").geturl())
    assert other.usd("#spend-total") == day["effective_cost_usd"]
    # a bad value: the API's error, naming the parameter
    assert v.errors == []
    response = v.go("/?from=yesterday-ish")
    assert response.status == 400
    assert "from" in v.text("#api-error")
    assert [e for e in v.errors if "400 (Bad Request)" not in e] == []
