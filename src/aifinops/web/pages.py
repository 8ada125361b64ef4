"""What each page reads from ``/api/v1`` and hands its template.

A page only arranges the API's answers: its money figures are the API's strings
(rounded for the eye, exact in ``data-usd``); the few derived figures (cache hit rate,
the month's linear forecast, counts of refused requests) are computed from them here
and say so on the page.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from aifinops.web.auth import Session
from aifinops.web.data import ApiReader, Call
from aifinops.web.filters import View
from aifinops.web.fmt import sparkline, to_decimal

Context = dict[str, Any]
#: Rejections read for the Teams page (one page of the API); more is said as "at least".
REJECTIONS_READ = 1000
TOP = 5
#: The newest gate runs shown on the Features page.
GATES_READ = 200
#: The newest alerts read for the Teams page (one page of the API).
ALERTS_READ = 1000


def _days(start: str, end: str) -> list[str]:
    try:
        lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return []
    if (hi - lo).days > 366:
        return []
    return [(lo + timedelta(days=i)).isoformat() for i in range((hi - lo).days + 1)]


def cache_hit_rate(measures: dict[str, Any]) -> float | None:
    """Share of input tokens read from the prompt cache (as `/api/v1/economics`)."""
    names = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")
    total = sum(int(measures.get(n, 0)) for n in names)
    return int(measures.get("cache_read_tokens", 0)) / total if total else None


def month_forecast(mtd_usd: str | None, now: datetime) -> str | None:
    """Linear: the month's spend so far ÷ the elapsed share of the UTC month (the rule
    of `/api/v1/budgets/status` ``projected_usd``)."""
    spent = to_decimal(mtd_usd)
    if spent is None:
        return None
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    seconds = calendar.monthrange(now.year, now.month)[1] * 86400
    elapsed = Decimal((now - start).total_seconds()) / Decimal(seconds)
    if elapsed <= 0:
        return None
    return str((spent / elapsed).quantize(Decimal("0.000000001")))


def _daily_chart(rows: list[dict[str, Any]], days: list[str]) -> dict[str, Any]:
    by_team: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        team = row.get("team") or "(no team)"
        by_team[team][str(row.get("day"))] = float(row["effective_cost_usd"])
    order = sorted(by_team, key=lambda t: -sum(by_team[t].values()))
    return {
        "labels": days,
        "datasets": [
            {"label": team, "data": [round(by_team[team].get(d, 0.0), 6) for d in days]}
            for team in order
        ],
    }


def _month_budgets(status: dict[str, Any], view: View) -> list[dict[str, Any]]:
    """The monthly budgets the overview weighs month to date against: the org's if any,
    else the teams' (only the filtered team's with ?team=)."""
    rows = [r for r in status["rows"] if r["period"] == "month"]
    if view.team:
        return [r for r in rows if r["scope"] == "team" and r["name"] == view.team]
    org = [r for r in rows if r["scope"] == "org"]
    return org or [r for r in rows if r["scope"] == "team"]


def _sum_usd(values: list[str]) -> str | None:
    if not values:
        return None
    return str(sum((Decimal(v) for v in values), Decimal(0)))


def _now() -> tuple[datetime, str]:
    """Now (whole seconds) and as the ``at`` of `/api/v1/budgets/status`: the page shows
    the moment it asked about, so the same figures can be asked for again."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now, now.isoformat().replace("+00:00", "Z")


_MONEY = ("list_cost_usd", "effective_cost_usd")
_NANO = Decimal("1000000000")


def group_rows(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of a finer ``/spend`` read summed to ``keys``: exact sums of the API's
    decimal strings and integer counts, in the API's order (by time when ``day`` is a
    key, else largest effective cost first, then the keys), ``share_of_total`` computed
    and rounded as the API does. The same rows as ``/spend?by=<keys>`` without another
    scan of the month."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        group = groups.get(tuple(row.get(k) for k in keys))
        if group is None:
            group = {k: row.get(k) for k in keys}
            group["_nusd"] = dict.fromkeys(_MONEY, 0)
            groups[tuple(row.get(k) for k in keys)] = group
        for name, value in row.items():
            if name in _MONEY:
                group["_nusd"][name] += int(Decimal(value) * _NANO)
            elif name not in keys and isinstance(value, int) and not isinstance(value, bool):
                group[name] = group.get(name, 0) + value
    total = sum(g["_nusd"]["effective_cost_usd"] for g in groups.values())
    out = []
    for group in groups.values():
        nusd = group.pop("_nusd")
        for name in _MONEY:
            group[name] = f"{Decimal(nusd[name]) / _NANO:.9f}"
        group["share_of_total"] = round(nusd["effective_cost_usd"] / total, 4) if total else 0.0
        group["_effective"] = nusd["effective_cost_usd"]
        out.append(group)
    if "day" in keys:
        out.sort(key=lambda g: tuple(str(g.get(k) or "") for k in keys))
    else:
        out.sort(key=lambda g: (-g["_effective"], *(str(g.get(k) or "") for k in keys)))
    for group in out:
        del group["_effective"]
    return out


def by_team(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spend by team from finer rows (see `group_rows`)."""
    return group_rows(rows, ("team",))


def _month_to_date(view: View, now: datetime) -> bool:
    """Whether the view is this UTC month so far (its spend is then the month's)."""
    first = now.date().replace(day=1).isoformat()
    last = now.date().replace(day=calendar.monthrange(now.year, now.month)[1]).isoformat()
    return view.start == first and now.date().isoformat() <= view.end <= last


async def overview(reader: ApiReader, session: Session, view: View) -> Context:
    """Three reads at most: spend by day, team, feature and model (one scan of the
    month's daily rollup; the totals, and summed exactly by `group_rows` the daily
    chart, the teams, the top features and models), this month (unless the view is this
    month so far), the budgets."""
    period = view.api()
    now, at = _now()
    calls = [
        Call("/spend", {**period, "by": "day,team,feature,model"}),
        Call("/budgets/status", {"at": at}),
    ]
    this_month = _month_to_date(view, now)
    if not this_month:
        calls.append(Call("/spend", {"month": "current", "by": "team", "team": view.team}))
    fine, status, *month = await reader.read(*calls)
    assert fine and status
    daily = {"rows": group_rows(fine["rows"], ("day", "team")), "totals": fine["totals"]}
    mtd = daily["totals"]
    if month:  # the view is not this month so far: the month's own read
        assert month[0] is not None
        mtd = month[0]["totals"]
    teams = by_team(fine["rows"])
    budgets = _month_budgets(status, view)
    return {
        "at": status["meta"]["at"],
        "totals": daily["totals"],
        "team_rows": teams,
        "untracked": next((r for r in teams if r["team"] is None), None),
        "cache_hit_rate": cache_hit_rate(daily["totals"]),
        "features": group_rows(fine["rows"], ("feature",))[:TOP],
        "models": group_rows(fine["rows"], ("model",))[:TOP],
        "mtd": mtd["effective_cost_usd"],
        "month": f"{now:%B %Y}",
        "forecast": month_forecast(mtd["effective_cost_usd"], now),
        "budgets": budgets,
        "budget_usd": _sum_usd([r["amount_usd"] for r in budgets]),
        "chart": _daily_chart(daily["rows"], _days(view.start, view.end)),
        "team_choices": sorted(r["team"] for r in teams if r["team"]),
    }


def _crossed(row: dict[str, Any], thresholds: list[int]) -> list[str]:
    """The thresholds this period crossed (each alerts once), and the hard limit."""
    out = [f"{t} %" for t in thresholds if row["spend_pct"] >= t]
    if row["state"] == "over_hard_limit":
        out.append(f"hard limit {row['hard_limit_pct']} % → {row['action']}")
    return out


async def teams(reader: ApiReader, session: Session, view: View) -> Context:
    _, at = _now()
    status, budgets, rejections, spend, alerts = await reader.read(
        Call("/budgets/status", {"at": at}),
        Call("/budgets", {}),
        Call(
            "/rejections",
            {"from": view.start, "to": view.end, "team": view.team, "limit": REJECTIONS_READ},
        ),
        Call("/spend", {**view.api(), "by": "team"}),
        Call("/alerts", {"from": view.start, "to": view.end, "limit": ALERTS_READ}, optional=True),
    )
    assert status and budgets and rejections and spend
    thresholds = {b["id"]: b["thresholds"] for b in budgets["rows"]}
    rows = [
        r
        for r in status["rows"]
        if not view.team or (r["scope"] == "team" and r["name"] == view.team)
    ]
    gauges = [
        {
            **r,
            "thresholds": thresholds.get(r["budget_id"], []),
            "crossed": _crossed(r, thresholds.get(r["budget_id"], [])),
        }
        for r in rows
    ]
    refused: Counter[tuple[str, str]] = Counter(
        (r.get("team") or "(no team)", r["reason"]) for r in rejections["rows"]
    )
    reasons = sorted({reason for _, reason in refused})
    by_team = sorted({team for team, _ in refused})
    return {
        "gauges": gauges,
        "status_totals": status["totals"],
        "at": status["meta"]["at"],
        "refused": refused,
        "reasons": reasons,
        "refused_teams": by_team,
        "refused_more": rejections["meta"]["next_cursor"] is not None,
        "throttled": sum(n for (_, reason), n in refused.items() if reason == "budget_throttled"),
        "refused_total": sum(refused.values()),
        "spend_rows": spend["rows"],
        "spend_totals": spend["totals"],
        **_alerts(alerts, view),
    }


def _alerts(doc: dict[str, Any] | None, view: View) -> Context:
    """The alerts fired in the range (the API's rows; with ?team=, those whose team is
    that team), or why there are none to show."""
    if doc is None or doc.get("forbidden"):
        return {"alerts_available": False, "alerts": [], "alerts_more": False}
    rows = [r for r in doc["rows"] if not view.team or r.get("team") == view.team]
    return {
        "alerts_available": True,
        "alerts": rows,
        "alerts_more": doc["totals"]["alerts"] >= doc["meta"]["limit"],
    }


def _gate_rows(gates: dict[str, Any] | None) -> list[dict[str, Any]]:
    if gates is None:
        return []
    rows = gates.get("gates", gates.get("rows", []))
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _gate_day(row: dict[str, Any]) -> str | None:
    for name in ("ts", "ran_at", "created_at", "decided_at", "at"):
        value = row.get(name)
        if isinstance(value, str) and len(value) >= 10:
            return value[:10]
    return None


async def features(reader: ApiReader, session: Session, view: View) -> Context:
    economics, settings, gates = await reader.read(
        Call("/economics", {**view.api(with_feature=True), "series": True}),
        Call("/features", {}),
        Call("/gates", {"feature": view.feature, "limit": GATES_READ}, optional=True),
    )
    assert economics and settings
    owners = {f["name"]: f["team"] for f in settings["rows"]}
    gate_rows = _gate_rows(gates)
    series = {s.get("feature"): s["points"] for s in economics["meta"].get("series", [])}
    window = economics["meta"].get("trend_window", [view.start, view.end])
    days = _days(window[0], window[1])
    sparks = {}
    for name, points in series.items():
        values = [
            float(p["cost_per_successful_outcome_usd"])
            if p.get("cost_per_successful_outcome_usd") is not None
            else None
            for p in points
        ]
        marks = [
            days.index(d)
            for g in gate_rows
            if g.get("feature") == name and (d := _gate_day(g)) in days
        ]
        sparks[name] = sparkline(values, marks, f"cost per successful outcome of {name}")
    return {
        "rows": economics["rows"],
        "owners": owners,
        "totals": economics["totals"],
        "window": window,
        "sparks": sparks,
        "gates": gate_rows,
        "gates_available": gates is not None,
        "gates_forbidden": bool(gates and gates.get("forbidden")),
    }


async def customers(reader: ApiReader, session: Session, view: View) -> Context:
    doc = await reader.one(Call("/customers", {"from": view.start, "to": view.end}))
    return {"rows": doc["rows"], "totals": doc["totals"], "meta": doc["meta"]}


async def statement(reader: ApiReader, session: Session, view: View, customer: str) -> Context:
    doc = await reader.one(
        Call(
            f"/customers/{quote(customer, safe='')}/statement", {"from": view.start, "to": view.end}
        )
    )
    return {"customer": customer, "rows": doc["rows"], "totals": doc["totals"], "meta": doc["meta"]}


async def models(reader: ApiReader, session: Session, view: View) -> Context:
    mix, waste, whatif = await reader.read(
        Call("/spend", {**view.api(), "by": "provider,model"}),
        Call("/waste", {"from": view.start, "to": view.end, "team": view.team}, optional=True),
        Call("/routing/whatif", {"from": view.start, "to": view.end}, optional=True),
    )
    assert mix
    chart = {
        "labels": [f"{r.get('provider')}/{r.get('model')}" for r in mix["rows"][:12]],
        "data": [float(r["effective_cost_usd"]) for r in mix["rows"][:12]],
    }
    findings = waste.get("findings", []) if waste is not None else []
    waste_forbidden = bool(waste and waste.get("forbidden"))
    return {
        "rows": mix["rows"],
        "totals": mix["totals"],
        "chart": chart,
        "waste_available": waste is not None,
        "waste_forbidden": waste_forbidden,
        "findings": findings,
        "saving_usd": (waste or {}).get("totals", {}).get("monthly_saving_usd")
        or _sum_usd([f["monthly_saving_usd"] for f in findings if f.get("monthly_saving_usd")]),
        "whatif": None if whatif is None or whatif.get("forbidden") else whatif,
        "whatif_forbidden": bool(whatif and whatif.get("forbidden")),
    }
