"""The gate document as a terminal table or as Markdown for a pull-request comment."""

from __future__ import annotations

from typing import Any

from rich.table import Table

MARK = {"pass": "✅", "fail": "❌", "insufficient": "⚠️", "skipped": "➖"}
TITLE = {"pass": "PASS", "fail": "FAIL", "insufficient": "NOT ENOUGH DATA"}

# (label, key in the side figures, key in changes or None, kind)
ROWS: tuple[tuple[str, str, str | None, str], ...] = (
    ("calls", "calls", None, "count"),
    ("outcomes (open units)", "outcomes", None, "outcomes"),
    ("cost per call", "cost_per_call_usd", "cost_per_call_usd", "usd"),
    (
        "cost per successful outcome",
        "cost_per_successful_outcome_usd",
        "cost_per_successful_outcome_usd",
        "usd",
    ),
    ("success rate", "success_rate", "success_rate", "rate"),
    ("mean quality", "mean_quality", "mean_quality", "rate"),
    ("input tokens / call", "input_tokens_per_call", "input_tokens_per_call", "number"),
    ("output tokens / call", "output_tokens_per_call", "output_tokens_per_call", "number"),
    (
        "cache read tokens / call",
        "cache_read_tokens_per_call",
        "cache_read_tokens_per_call",
        "number",
    ),
    (
        "cache write tokens / call",
        "cache_write_tokens_per_call",
        "cache_write_tokens_per_call",
        "number",
    ),
    ("cache hit rate", "cache_hit_rate", "cache_hit_rate", "rate"),
    ("latency p50 (ms)", "latency_p50_ms", "latency_p50_ms", "number"),
    ("latency p95 (ms)", "latency_p95_ms", "latency_p95_ms", "number"),
)


def _value(side: dict[str, Any], key: str, kind: str) -> str:
    value = side.get(key)
    if kind == "outcomes":
        return f"{side['outcomes']} ({side['open_units']})"
    if value is None:
        return "–"
    if kind == "usd":
        return f"${value}"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "count":
        return f"{value:,}"
    return f"{value:,.1f}"


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def _change(change: dict[str, Any] | None, kind: str) -> tuple[str, str]:
    if change is None:
        return "", ""
    interval = change["interval"]
    if kind == "rate":
        text = "–" if change["change"] is None else f"{change['change'] * 100:+.1f} pts"
        if interval is not None:
            return text, f"{interval['low'] * 100:+.1f} to {interval['high'] * 100:+.1f} pts"
        return text, ""
    text = "–" if change["relative_change"] is None else _pct(change["relative_change"])
    if interval is not None:
        return text, f"{_pct(interval['low'])} to {_pct(interval['high'])}"
    return text, ""


def rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    changes = {c["metric"]: c for c in doc["changes"]}
    out = []
    for label, key, metric, kind in ROWS:
        change, interval = _change(changes.get(metric) if metric else None, kind)
        out.append(
            (
                label,
                _value(doc["baseline"], key, kind),
                _value(doc["candidate"], key, kind),
                change,
                interval,
            )
        )
    return out


def headline(doc: dict[str, Any]) -> str:
    verdict = doc["verdict"]
    return f"{MARK[verdict]} {TITLE[verdict]}: gate for feature {doc['feature']}"


def rich_table(doc: dict[str, Any]) -> Table:
    confidence = round(doc["confidence"] * 100)
    table = Table(title=headline(doc), title_justify="left")
    table.add_column("")
    table.add_column(f"baseline\n{doc['baseline']['selection']}", justify="right")
    table.add_column(f"candidate\n{doc['candidate']['selection']}", justify="right")
    table.add_column("change", justify="right")
    table.add_column(f"{confidence}% interval", justify="right")
    for row in rows(doc):
        table.add_row(*row)
    return table


def check_lines(doc: dict[str, Any]) -> list[str]:
    return [f"{MARK[c['status']]} {c['name']}: {c['detail']}" for c in doc["checks"]]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(doc: dict[str, Any]) -> str:
    confidence = round(doc["confidence"] * 100)
    base, cand = doc["baseline"], doc["candidate"]
    lines = [
        f"### {headline(doc)}",
        "",
        f"Baseline `{_md_cell(base['selection'])}` ({base['source']}, "
        f"{', '.join(base['models']) or 'no calls'}) against candidate "
        f"`{_md_cell(cand['selection'])}` ({cand['source']}, "
        f"{', '.join(cand['models']) or 'no calls'}).",
        "",
        f"| | baseline | candidate | change | {confidence}% interval |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows(doc)]
    lines += ["", "**Checks**", ""]
    lines += [
        f"- {MARK[c['status']]} `{c['name']}`: {_md_cell(c['detail'])}" for c in doc["checks"]
    ]
    evals = doc.get("evals") or []
    if evals:
        lines += ["", "**Imported eval scores** (`aifinops import evals`)", ""]
        lines += [
            f"- {e['model']} {e['prompt_version'] or ''} {e['metric'] or 'score'}: "
            f"{e['score']} (n = {e['sample_size']}, {e['run_date'] or 'undated'})"
            for e in evals
        ]
    policy = ", ".join(f"{k}={v}" for k, v in doc["policy"].items())
    methods = sorted({c["method"] for c in doc["changes"] if c["interval"] is not None})
    lines += [
        "",
        f"<sub>Policy: {policy}. Intervals: {'; '.join(methods)}. "
        "Exit 0 pass, 1 fail, 3 not enough data.</sub>",
        "",
    ]
    return "\n".join(lines)
