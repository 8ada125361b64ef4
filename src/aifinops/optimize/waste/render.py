"""The findings as a terminal table or Markdown (JSON is the document itself)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_HEAD = ("kind", "team", "feature", "prompt version", "monthly saving USD")


def _row(f: dict[str, Any]) -> list[str]:
    return [f["kind"], f["team"], f["feature"], f["prompt_version"] or "", f["monthly_saving_usd"]]


def _evidence(f: dict[str, Any]) -> str:
    parts = []
    for key, value in f["evidence"].items():
        text = str(value)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            text = "; ".join(
                ", ".join(f"{k}={v}" for k, v in item.items() if k != "first_hour")
                for item in value
            )
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        parts.append(f"{key}={text}")
    return ", ".join(parts)


def rich_table(doc: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for label in _HEAD:
        table.add_column(label, justify="right" if label.startswith("monthly") else "left")
    table.add_column("how / fix")
    for f in doc["findings"]:
        table.add_row(*_row(f), f"{f['method']}\nFix: {f['fix']}")
    totals = doc["totals"]
    table.caption = (
        f"{totals['findings']} findings, {totals['monthly_saving_usd']} USD a month in all"
    )
    return table


def markdown(doc: dict[str, Any], title: str) -> str:
    lines = [f"## {title}", ""]
    if not doc["findings"]:
        return "\n".join([*lines, "No waste found.", ""])
    lines += ["| " + " | ".join(_HEAD) + " |", "|" + " --- |" * 4 + " ---: |"]
    for f in doc["findings"]:
        lines.append("| " + " | ".join(_row(f)) + " |")
    totals = doc["totals"]
    lines += ["", f"Total: {totals['monthly_saving_usd']} USD a month.", ""]
    for i, f in enumerate(doc["findings"], start=1):
        lines += [
            f"### {i}. {f['kind']}: {f['feature']} ({f['team']})",
            "",
            f"- Evidence: {_evidence(f)}",
            f"- Method: {f['method']}",
            f"- Fix: {f['fix']}",
            "",
        ]
    return "\n".join(lines)
