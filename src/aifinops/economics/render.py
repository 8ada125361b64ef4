"""Rendering report documents as a terminal table, Markdown, HTML or CSV.

Every format shows the same rows as the JSON document; `COLUMNS` picks and labels them.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from typing import Any

from rich.table import Table

Column = tuple[str, str]  # (field, label)

OUTCOME_COLUMNS: tuple[Column, ...] = (
    ("spend_usd", "spend USD"),
    ("outcomes", "outcomes"),
    ("success_rate", "success"),
    ("cost_per_successful_outcome_usd", "per success USD"),
    ("human_cost_ratio", "vs human"),
    ("status", "status"),
    ("value_share", "value share"),
    ("mean_quality", "quality"),
    ("cache_hit_rate", "cache hit"),
    ("trend", "30-day trend"),
    ("open_unit_spend_usd", "open units USD"),
    ("recommendation", "do this week"),
)

_PERCENT = frozenset(
    {"success_rate", "human_cost_ratio", "value_share", "cache_hit_rate", "share_of_total"}
)


def cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key.endswith("_usd"):
        amount = float(value)
        return f"{amount:,.4f}" if 0 < abs(amount) < 1 else f"{amount:,.2f}"
    if key in _PERCENT:
        return f"{value * 100:.1f}%"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _labels(dims: Sequence[str], columns: Sequence[Column]) -> list[str]:
    return [*dims, *(label for _, label in columns)]


def _cells(row: dict[str, Any], dims: Sequence[str], columns: Sequence[Column]) -> list[str]:
    return [*(cell(d, row.get(d)) for d in dims), *(cell(k, row.get(k)) for k, _ in columns)]


def rich_table(
    doc: dict[str, Any], dims: Sequence[str], columns: Sequence[Column], title: str
) -> Table:
    table = Table(title=title)
    for i, label in enumerate(_labels(dims, columns)):
        table.add_column(label, justify="left" if i < len(dims) else "right")
    for row in doc["rows"]:
        table.add_row(*_cells(row, dims, columns))
    table.add_section()
    totals = doc["totals"]
    table.add_row(
        *(["total", *[""] * (len(dims) - 1)] if dims else []),
        *(cell(k, totals.get(k)) if k in totals else "" for k, _ in columns),
    )
    return table


def markdown(
    doc: dict[str, Any], dims: Sequence[str], columns: Sequence[Column], title: str
) -> str:
    """A GitHub-flavoured Markdown table (pipes in values are escaped)."""
    labels = _labels(dims, columns)
    lines = [f"### {title}", "", "| " + " | ".join(labels) + " |"]
    lines.append(
        "| " + " | ".join("---" if i < len(dims) else "---:" for i in range(len(labels))) + " |"
    )
    for row in doc["rows"]:
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|") for c in _cells(row, dims, columns)) + " |"
        )
    totals = doc["totals"]
    total_cells = [
        *(["**total**", *[""] * (len(dims) - 1)] if dims else []),
        *(cell(k, totals.get(k)) if k in totals else "" for k, _ in columns),
    ]
    lines.append("| " + " | ".join(total_cells) + " |")
    return "\n".join(lines) + "\n"


def html_page(
    doc: dict[str, Any], dims: Sequence[str], columns: Sequence[Column], title: str
) -> str:
    """A standalone, printable HTML page with the table (values escaped)."""
    esc = html.escape
    head = "".join(f"<th>{esc(label)}</th>" for label in _labels(dims, columns))
    body = []
    for row in doc["rows"]:
        status = esc(str(row.get("status") or ""))
        cells = "".join(f"<td>{esc(c)}</td>" for c in _cells(row, dims, columns))
        body.append(f'<tr class="{status}">{cells}</tr>')
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}"
        "tr.review td{background:#fde2e1}tr.watch td{background:#fff4ce}"
        "tr.healthy td{background:#e6f4ea}@media print{body{margin:0}}"
        f"</style></head><body><h1>{esc(title)}</h1>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p>Generated {esc(str(doc['meta'].get('generated_at', '')))}.</p></body></html>\n"
    )


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
