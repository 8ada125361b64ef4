"""Every page in Chromium against a real `aifinops serve`: it loads without console
errors, and its headline figures are the API's own strings for the same token."""

from __future__ import annotations

from typing import Any

import pytest

from aifinops.web.fmt import usd
from aifinops.web.pages import cache_hit_rate, group_rows
from tests.dashboard.conftest import Company

PAGES = ("/", "/teams", "/features", "/customers", "/customers/cust-001", "/models")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_without_console_errors(visit: Any, company: Company, path: str) -> None:
    v = visit("admin")
    response = v.go(f"{path}?{company.range}")
    assert response.status == 200
    assert v.page.locator("h1").inner_text()
    assert not v.page.locator(".error").count(), v.page.content()
    if path in ("/", "/models"):  # the chart library ran and drew its canvas
        v.page.wait_for_function("() => Object.keys(window.Chart.instances).length > 0")
    assert v.errors == []
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def _check_money(v: Any, selector: str, exact: str | None, *, fine: bool = False) -> None:
    """The figure's exact string is the API's, and its text that string rounded."""
    assert v.usd(selector) == (exact or "")
    assert v.text(selector) == usd(exact, fine=fine)


def test_overview_figures_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("admin")
    v.go(f"/?{company.range}")
    period = {"from": str(company.first), "to": str(company.last)}
    by_team = company.api("admin", "/spend", by="team", **period)
    totals = by_team["totals"]
    _check_money(v, "#spend-total", totals["effective_cost_usd"])
    assert v.text("#calls-total") == f"{totals['calls']:,}"
    assert v.text("#unpriced-calls") == f"{totals['unpriced_calls']:,}"
    rate = cache_hit_rate(totals)
    assert rate is not None and v.text("#cache-hit-rate") == f"{rate * 100:.1f} %"
    untracked = next((r for r in by_team["rows"] if r.get("team") is None), None)
    assert v.usd("#untracked") == (untracked["effective_cost_usd"] if untracked else "0.000000000")
    # the teams, summed from the rows by day and team, are the API's rows by team
    shown_teams = v.page.locator("#teams tbody tr")
    assert shown_teams.count() == len(by_team["rows"])
    for i, row in enumerate(by_team["rows"]):
        assert shown_teams.nth(i).get_attribute("data-team") == (row["team"] or "")
        assert (
            shown_teams.nth(i).locator(".usd").get_attribute("data-usd")
            == (row["effective_cost_usd"])
        )
        share = shown_teams.nth(i).locator("td").nth(2).inner_text()
        assert share == f"{row['share_of_total'] * 100:.1f} %"
    month = company.api("admin", "/spend", month="current", by="team")
    _check_money(v, "#mtd", month["totals"]["effective_cost_usd"])

    features = company.api("admin", "/spend", by="feature", top=5, **period)["rows"]
    shown = v.page.locator("#top-features tbody tr")
    assert shown.count() == len(features) == 5
    for i, row in enumerate(features):
        assert shown.nth(i).locator("td").first.inner_text() == (row["feature"] or "(no feature)")
        assert shown.nth(i).locator(".usd").get_attribute("data-usd") == row["effective_cost_usd"]
    models = company.api("admin", "/spend", by="model", top=5, **period)["rows"]
    cells = v.page.locator("#top-models tbody tr td:first-child").all_inner_texts()
    assert cells == [r["model"] for r in models]

    at = v.page.locator("#budgets").get_attribute("data-at")  # the moment the page asked
    status = company.api("admin", "/budgets/status", at=at)["rows"]
    monthly = [r for r in status if r["period"] == "month" and r["scope"] in ("org", "team")]
    assert monthly, "the company's aifinops.yaml has monthly team budgets"
    for row in v.page.locator("#budgets tbody tr").all():
        api_row = next(r for r in status if r["budget_id"] == row.get_attribute("data-budget"))
        usds = row.locator(".usd")
        assert usds.nth(0).get_attribute("data-usd") == api_row["spend_usd"]
        assert usds.nth(1).get_attribute("data-usd") == api_row["amount_usd"]
        assert usds.nth(2).get_attribute("data-usd") == api_row["projected_usd"]
    daily = company.api("admin", "/spend", by="day,team", **period)["rows"]
    drawn = v.page.evaluate(
        "() => Object.values(window.Chart.instances)[0].data.datasets"
        ".reduce((n, d) => n + d.data.filter(x => x > 0).length, 0)"
    )
    assert drawn == sum(1 for r in daily if float(r["effective_cost_usd"]) > 0)


def test_teams_page_figures_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("finance")
    v.go(f"/teams?{company.range}")
    at = v.page.locator("#gauges").get_attribute("data-at")
    status = company.api("finance", "/budgets/status", at=at)
    rows = v.page.locator("#gauges tbody tr")
    assert rows.count() == len(status["rows"]) > 0
    for api_row in status["rows"]:
        row = v.page.locator(f'#gauges tr[data-budget="{api_row["budget_id"]}"]')
        assert row.locator(".usd").first.get_attribute("data-usd") == api_row["spend_usd"]
        assert row.locator("svg.gauge").count() == 1
    rejections = company.api(
        "finance", "/rejections", **{"from": str(company.first), "to": str(company.last)}
    )["rows"]
    assert v.text("#refused-total") == str(len(rejections))
    throttled = sum(1 for r in rejections if r["reason"] == "budget_throttled")
    assert throttled > 0 and v.text("#throttled-total") == str(throttled)
    spend = company.api(
        "finance", "/spend", by="team", **{"from": str(company.first), "to": str(company.last)}
    )
    _check_money(v, "#team-spend-total", spend["totals"]["effective_cost_usd"])
    assert v.errors == []


def _alert_rows(v: Any) -> list[dict[str, str | None]]:
    rows = v.page.locator("#alerts tbody tr")
    out = []
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td").all_inner_texts()
        usds = row.locator(".usd")
        out.append(
            {
                "alert_id": row.get_attribute("data-alert"),
                "fired_at": cells[0],
                "subject": cells[1],
                "kind": cells[2],
                "spend_usd": usds.nth(0).get_attribute("data-usd"),
                "limit_usd": usds.nth(1).get_attribute("data-usd"),
                "status": cells[7].split(" ")[0],
            }
        )
    return out


def _api_alert_rows(company: Company, role: str) -> list[dict[str, str | None]]:
    period = {"from": str(company.first), "to": str(company.last)}
    doc = company.api(role, "/alerts", limit=1000, **period)
    keys = ("alert_id", "fired_at", "subject", "kind", "spend_usd", "limit_usd", "status")
    return [{k: (r[k] or "") if k.endswith("_usd") else r[k] for k in keys} for r in doc["rows"]]


def test_teams_page_alerts_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("finance")
    v.go(f"/teams?{company.range}")
    expected = _api_alert_rows(company, "finance")
    subjects = {r["subject"] for r in expected}
    assert {"support-tiny", "sales-tiny"} <= subjects
    assert _alert_rows(v) == expected
    assert v.errors == []


@pytest.mark.parametrize("team", ["support", "sales"])
def test_a_team_sees_only_its_alerts(visit: Any, company: Company, team: str) -> None:
    v = visit(f"team:{team}")
    v.go(f"/teams?{company.range}")
    shown = _alert_rows(v)
    assert shown == _api_alert_rows(company, f"team:{team}")
    assert f"{team}-tiny" in {r["subject"] for r in shown}
    other = "sales" if team == "support" else "support"
    everyone = _api_alert_rows(company, "admin")
    theirs = {r["alert_id"] for r in everyone if r["subject"] == f"{other}-tiny"}
    assert theirs and not theirs & {r["alert_id"] for r in shown}
    assert v.errors == []


def test_features_page_figures_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("admin")
    v.go(f"/features?{company.range}")
    doc = company.api(
        "admin", "/economics", series=True, **{"from": str(company.first), "to": str(company.last)}
    )
    _check_money(v, "#economics-spend", doc["totals"]["spend_usd"])
    assert v.usd("#economics-cpo") == doc["totals"]["cost_per_successful_outcome_usd"]
    for api_row in doc["rows"]:
        row = v.page.locator(f'#economics tr[data-feature="{api_row["feature"]}"]')
        cpo = api_row["cost_per_successful_outcome_usd"]
        assert row.locator(".cpo .usd").get_attribute("data-usd") == (cpo or "")
        assert row.locator(".cpo").inner_text() == usd(cpo, fine=True)
    assert v.page.locator("#economics svg.spark").count() > 0
    statuses = {r["status"] for r in doc["rows"] if r["status"]}
    for status in statuses:  # the human-cost ratio's status, coloured by its class
        assert v.page.locator(f"#economics td.status-{status}").count() > 0
    gates = company.get("admin", "/gates")
    if gates.status_code == 404 or not gates.json()["gates"]:
        assert "No gate decisions recorded" in v.text("#no-gates")
    else:
        assert v.page.locator("#gates tbody tr").count() == len(gates.json()["gates"])
    assert v.errors == []


def test_customers_and_statement_figures_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("finance")
    period = {"from": str(company.first), "to": str(company.last)}
    v.go(f"/customers?{company.range}")
    doc = company.api("finance", "/customers", **period)
    _check_money(v, "#showback-total_spend_usd", doc["totals"]["total_spend_usd"])
    assert v.page.locator("#showback tbody tr").count() == len(doc["rows"]) > 0
    first = doc["rows"][0]
    row = v.page.locator(f'#showback tr[data-customer="{first["customer_id"]}"]')
    assert row.locator(".usd").nth(2).get_attribute("data-usd") == first["total_spend_usd"]
    row.locator("a").click()
    v.page.wait_for_load_state()
    assert v.page.url.startswith(f"{company.url}/customers/{first['customer_id']}?")
    statement = company.api("finance", f"/customers/{first['customer_id']}/statement", **period)
    for name, value in statement["totals"].items():
        if name.endswith("_usd"):
            _check_money(v, f"#statement-{name}", value, fine="_per_" in name)
    assert v.page.locator("input[name=team]").count() == 0  # a statement has no team
    v.page.emulate_media(media="print")  # the printable statement: no navigation, no filters
    assert not v.page.locator("header.top").is_visible()
    assert not v.page.locator("form.filters").is_visible()
    assert v.page.locator("#statement-rows").is_visible()
    assert v.errors == []


def test_models_page_figures_are_the_apis(visit: Any, company: Company) -> None:
    v = visit("admin")
    v.go(f"/models?{company.range}")
    period = {"from": str(company.first), "to": str(company.last)}
    mix = company.api("admin", "/spend", by="provider,model", **period)
    _check_money(v, "#mix-total", mix["totals"]["effective_cost_usd"])
    assert v.page.locator("#mix tbody tr").count() == len(mix["rows"])
    waste = company.get("admin", "/waste", **period)
    if waste.status_code == 404:
        assert v.text("#waste-unavailable") == "Waste detection is not available in this version."
    else:
        doc = waste.json()
        assert v.page.locator("#findings tbody tr").count() == len(doc["findings"])
        if doc["findings"]:
            _check_money(v, "#waste-saving", doc["totals"]["monthly_saving_usd"])
            cells = v.page.locator("#findings tbody tr .usd").evaluate_all(
                "spans => spans.map(s => s.dataset.usd)"
            )
            assert cells == [f["monthly_saving_usd"] for f in doc["findings"]]
        else:
            assert v.text("#no-findings") == "No waste found in this range."
    whatif = company.api("admin", "/routing/whatif", **period)
    assert whatif["meta"]["policies"] > 0, "the company's aifinops.yaml has routing policies"
    _check_money(v, "#whatif-saving", whatif["totals"]["saving_usd"])
    _check_money(v, "#whatif-cost", whatif["totals"]["whatif_effective_cost_usd"])
    _check_money(v, "#whatif-current", whatif["totals"]["effective_cost_usd"])
    rows = v.page.locator("#whatif tbody tr")
    assert rows.count() == len(whatif["rows"]) > 0
    for i, api_row in enumerate(whatif["rows"]):
        row = rows.nth(i)
        assert row.get_attribute("data-feature") == api_row["feature"]
        assert row.locator(".status").inner_text() == api_row["status"]
        assert row.locator("td").nth(3).inner_text() == (api_row["to_model"] or "—")
        usds = row.locator(".usd").evaluate_all("spans => spans.map(s => s.dataset.usd)")
        assert usds == [
            api_row["effective_cost_usd"],
            api_row["whatif_effective_cost_usd"],
            api_row["saving_usd"],
        ]
    for name in ("below_bar", "no_eval_data"):
        listed = ", ".join(whatif["meta"][name]) or "none"
        assert v.text(f"#whatif-{name.replace('_', '-')}").endswith(f": {listed}.")
    assert v.errors == []


def test_overview_of_this_month_so_far_reads_the_month_once(visit: Any, company: Company) -> None:
    v = visit("admin")
    v.go("/")  # no range: this UTC month so far, which is also the month to date
    month = company.api("admin", "/spend", month="current", by="team")["totals"]
    _check_money(v, "#spend-total", month["effective_cost_usd"])
    _check_money(v, "#mtd", month["effective_cost_usd"])
    assert v.errors == []


@pytest.mark.parametrize("keys", [("team",), ("feature",), ("model",), ("day", "team")])
def test_rows_summed_from_the_fine_read_are_the_apis(
    company: Company, keys: tuple[str, ...]
) -> None:
    """The overview reads spend once by day, team, feature and model and sums it: every
    row, figure and order must be what the API answers for the coarser grouping."""
    period = {"from": str(company.first), "to": str(company.last)}
    fine = company.api("admin", "/spend", by="day,team,feature,model", **period)["rows"]
    coarse = company.api("admin", "/spend", by=",".join(keys), **period)["rows"]
    assert group_rows(fine, keys) == coarse
