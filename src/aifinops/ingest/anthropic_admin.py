"""Anthropic Admin API: the messages usage report and the cost report → provider tables.

- ``GET /v1/organizations/usage_report/messages`` (``bucket_width`` 1d or 1h), grouped
  by model, workspace, api key, service tier and context window. Its token counts are
  already the canonical split: ``uncached_input_tokens`` → input,
  ``cache_read_input_tokens``, ``cache_creation.ephemeral_5m/1h_input_tokens``,
  ``output_tokens``, ``server_tool_use.web_search_requests``.
- ``GET /v1/organizations/cost_report`` (1d only), grouped by workspace and
  description. ``amount`` is a decimal string in **cents** (``"123.45"`` is $1.23450),
  stored as integer nano-USD; a currency other than USD is reported, not stored.
  Priority Tier costs never appear here (Anthropic's own caveat).

Arrays go as ``group_by[]=…``, as Anthropic's cookbook sends them. Auth: ``x-api-key``
(an Admin key) and ``anthropic-version: 2023-06-01``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aifinops.ingest.admin_http import AdminClient, Params
from aifinops.ingest.provider_store import (
    CostRow,
    KnownModel,
    ParsedPage,
    Problem,
    ReportSpec,
    UsageRow,
    note_unknown,
    usage_page_parser,
)
from aifinops.ingest.report_fields import (
    ReportFieldError,
    count,
    decimal,
    opt_str,
    timestamp,
)
from aifinops.usage import Usage

PROVIDER = "anthropic"
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
USAGE_GROUPS = ("model", "workspace_id", "api_key_id", "service_tier", "context_window")
COST_GROUPS = ("workspace_id", "description")
LIMITS = {"1d": 31, "1h": 168}
NANO_PER_CENT = 10**7
_USAGE_EXTRA_DIMS = ("inference_geo", "speed", "account_id", "service_account_id")

#: (provider, model) → whether aifinops has a list price for it.


def make_client(base_url: str, api_key: str, **options: Any) -> AdminClient:
    headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
    return AdminClient(
        name=PROVIDER,
        base_url=base_url,
        headers=headers,
        key_env="ANTHROPIC_ADMIN_API_KEY",
        **options,
    )


def _window(start: date, end: date) -> tuple[str, str]:
    lo = datetime.combine(start, time(), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), UTC)
    return lo.strftime("%Y-%m-%dT%H:%M:%SZ"), hi.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_params(start: date, end: date, bucket_width: str = "1d") -> Params:
    lo, hi = _window(start, end)
    return [
        ("starting_at", lo),
        ("ending_at", hi),
        ("bucket_width", bucket_width),
        ("limit", str(LIMITS[bucket_width])),
        *(("group_by[]", g) for g in USAGE_GROUPS),
    ]


def cost_params(start: date, end: date) -> Params:
    lo, hi = _window(start, end)
    return [
        ("starting_at", lo),
        ("ending_at", hi),
        ("bucket_width", "1d"),
        ("limit", "31"),
        *(("group_by[]", g) for g in COST_GROUPS),
    ]


def _extra_dims(row: Mapping[str, Any], names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for name in names:
        value = opt_str(row, name)
        if value is not None:
            out.append((name, value))
    return tuple(out)


def parse_usage_result(row: Mapping[str, Any], start: datetime, width: str) -> UsageRow:
    """One result of a usage bucket → `UsageRow` (raises `ReportFieldError`)."""
    usage = Usage(
        input_tokens=count(row, "uncached_input_tokens", required=True),
        cache_read_tokens=count(row, "cache_read_input_tokens"),
        cache_write_5m_tokens=count(row, "cache_creation.ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=count(row, "cache_creation.ephemeral_1h_input_tokens"),
        output_tokens=count(row, "output_tokens", required=True),
        web_search_requests=count(row, "server_tool_use.web_search_requests"),
    )
    return UsageRow(
        bucket_start=start,
        bucket_width=width,
        usage=usage,
        model=opt_str(row, "model"),
        account_id=opt_str(row, "workspace_id"),
        api_key_id=opt_str(row, "api_key_id"),
        service_tier=opt_str(row, "service_tier"),
        context_window=opt_str(row, "context_window"),
        extra_dims=_extra_dims(row, _USAGE_EXTRA_DIMS),
    )


def cost_nusd(amount_cents: Decimal) -> int:
    """Cents (a decimal, fractions allowed) → integer nano-USD, rounded half up."""
    return int((amount_cents * NANO_PER_CENT).to_integral_value(rounding=ROUND_HALF_UP))


def parse_cost_result(row: Mapping[str, Any], day: date) -> CostRow:
    """One result of a cost bucket → `CostRow` (raises `ReportFieldError`)."""
    currency = opt_str(row, "currency")
    if currency is None:
        raise ReportFieldError("currency", "is missing")
    if currency.upper() != "USD":
        raise ReportFieldError(
            "currency",
            f"{currency!r} is not USD; aifinops keeps money in USD and has no exchange rate",
        )
    amount = decimal(row.get("amount"), "amount")
    return CostRow(
        day=day,
        cost_nusd=cost_nusd(amount),
        account_id=opt_str(row, "workspace_id"),
        line_item=opt_str(row, "description"),
        model=opt_str(row, "model"),
        cost_type=opt_str(row, "cost_type"),
        token_type=opt_str(row, "token_type"),
        service_tier=opt_str(row, "service_tier"),
        extra_dims=_extra_dims(row, ("context_window", "inference_geo")),
    )


def _buckets(page: Mapping[str, Any], parsed: ParsedPage) -> list[tuple[datetime, list[Any]]]:
    data = page.get("data")
    if not isinstance(data, list):
        parsed.problems.append(Problem("page", "has no data list; skipped"))
        return []
    out = []
    for i, bucket in enumerate(data):
        if not isinstance(bucket, Mapping):
            parsed.problems.append(Problem(f"bucket {i}", "is not an object; skipped"))
            continue
        try:
            start = timestamp(bucket.get("starting_at"), "starting_at")
        except ReportFieldError as exc:
            parsed.problems.append(Problem(f"bucket {i}", f"{exc}; bucket skipped"))
            continue
        results = bucket.get("results")
        parsed.days.append(start.date())
        out.append((start, results if isinstance(results, list) else []))
    return out


def usage_parser(width: str, known: KnownModel | None = None) -> Callable[..., ParsedPage]:
    return usage_page_parser(PROVIDER, _buckets, parse_usage_result, width, known)


def cost_parser(known: KnownModel | None = None) -> Callable[..., ParsedPage]:
    def parse(page: Mapping[str, Any]) -> ParsedPage:
        parsed = ParsedPage()
        for start, results in _buckets(page, parsed):
            for j, result in enumerate(results):
                where = f"cost {start:%Y-%m-%d} result {j}"
                try:
                    row = parse_cost_result(result, start.date())
                except (ReportFieldError, AttributeError) as exc:
                    parsed.problems.append(Problem(where, f"{exc}; row skipped"))
                    continue
                note_unknown(parsed, PROVIDER, row.model, known)
                parsed.rows.append(row)
        return parsed

    return parse


def report_specs(bucket_width: str = "1d", known: KnownModel | None = None) -> list[ReportSpec]:
    """The usage and cost reports, ready for `aifinops.ingest.provider_store.pull_report`."""
    if bucket_width not in LIMITS:
        raise ValueError(f"bucket_width must be 1d or 1h, got {bucket_width!r}")
    return [
        ReportSpec(
            source=f"{PROVIDER}:usage",
            provider=PROVIDER,
            path=USAGE_PATH,
            params=lambda lo, hi: usage_params(lo, hi, bucket_width),
            parse_page=usage_parser(bucket_width, known),
        ),
        ReportSpec(
            source=f"{PROVIDER}:cost",
            provider=PROVIDER,
            path=COST_PATH,
            params=cost_params,
            parse_page=cost_parser(known),
        ),
    ]
