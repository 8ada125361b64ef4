"""OpenAI Admin API: organization usage (completions, embeddings) and costs → provider tables.

- ``GET /v1/organization/usage/completions`` grouped by model, project, api key, batch
  and service tier. OpenAI's ``input_tokens`` *includes* cached and cache-write
  tokens; the canonical split takes ``input_uncached_tokens`` when sent, otherwise
  ``input_tokens - input_cached_tokens - input_cache_write_tokens``; cache reads are
  ``input_cached_tokens``, cache writes ``input_cache_write_tokens`` (5-minute bucket:
  OpenAI reports no TTL split).
- ``GET /v1/organization/usage/embeddings``: ``input_tokens`` only.
- ``GET /v1/organization/costs`` (1d only) grouped by project and line item.
  ``amount.value`` is in **dollars** (a JSON number, parsed as a decimal, never a
  float) with a lowercase currency; ``line_item`` is free text such as
  ``"gpt-4o, input"``, from which the model and token type are read when it has that
  shape. A currency other than USD is reported, not stored.

``start_time``/``end_time`` are Unix seconds (end exclusive); arrays go as repeated
``group_by=…``. Auth: ``Authorization: Bearer <admin key>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP
from typing import Any

from aifinops.ingest.admin_http import AdminClient, Params
from aifinops.ingest.provider_store import (
    CostRow,
    KnownModel,
    ParsedPage,
    Problem,
    ReportSpec,
    UsageRow,
    usage_page_parser,
)
from aifinops.ingest.report_fields import (
    ReportFieldError,
    count,
    decimal,
    opt_bool,
    opt_str,
    timestamp,
)
from aifinops.money import NANO_PER_USD
from aifinops.usage import Usage

PROVIDER = "openai"
USAGE_PATHS = {
    "completions": "/organization/usage/completions",
    "embeddings": "/organization/usage/embeddings",
}
COSTS_PATH = "/organization/costs"
USAGE_GROUPS = ("model", "project_id", "api_key_id", "batch", "service_tier")
EMBEDDING_GROUPS = ("model", "project_id", "api_key_id")
COST_GROUPS = ("project_id", "line_item")
LIMITS = {"1d": 31, "1h": 168}
_EXTRA_COUNTS = (
    "input_audio_tokens",
    "output_audio_tokens",
    "input_image_tokens",
    "output_image_tokens",
    "input_cached_audio_tokens",
    "input_cached_image_tokens",
)


def make_client(base_url: str, api_key: str, **options: Any) -> AdminClient:
    return AdminClient(
        name=PROVIDER,
        base_url=base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        key_env="OPENAI_ADMIN_API_KEY",
        **options,
    )


def _window(start: date, end: date) -> tuple[str, str]:
    lo = datetime.combine(start, time(), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), UTC)
    return str(int(lo.timestamp())), str(int(hi.timestamp()))


def usage_params(start: date, end: date, bucket_width: str, groups: tuple[str, ...]) -> Params:
    lo, hi = _window(start, end)
    return [
        ("start_time", lo),
        ("end_time", hi),
        ("bucket_width", bucket_width),
        ("limit", str(LIMITS[bucket_width])),
        *(("group_by", g) for g in groups),
    ]


def cost_params(start: date, end: date) -> Params:
    lo, hi = _window(start, end)
    return [
        ("start_time", lo),
        ("end_time", hi),
        ("bucket_width", "1d"),
        ("limit", "31"),
        *(("group_by", g) for g in COST_GROUPS),
    ]


def canonical_usage(row: Mapping[str, Any]) -> Usage:
    """OpenAI's usage counts (input includes cache) → the canonical split."""
    total_input = count(row, "input_tokens", required=True)
    cached = count(row, "input_cached_tokens")
    writes = count(row, "input_cache_write_tokens")
    if row.get("input_uncached_tokens") is not None:
        uncached = count(row, "input_uncached_tokens")
    else:
        uncached = total_input - cached - writes
        if uncached < 0:
            raise ReportFieldError(
                "input_cached_tokens",
                f"cached ({cached}) + cache writes ({writes}) exceed input_tokens "
                f"({total_input}), which includes them",
            )
    return Usage(
        input_tokens=uncached,
        cache_read_tokens=cached,
        cache_write_5m_tokens=writes,
        output_tokens=count(row, "output_tokens"),
    )


def parse_usage_result(row: Mapping[str, Any], start: datetime, width: str) -> UsageRow:
    extras = {name: count(row, name) for name in _EXTRA_COUNTS if row.get(name)}
    user = opt_str(row, "user_id")
    requests = row.get("num_model_requests")
    return UsageRow(
        bucket_start=start,
        bucket_width=width,
        usage=canonical_usage(row),
        model=opt_str(row, "model"),
        account_id=opt_str(row, "project_id"),
        api_key_id=opt_str(row, "api_key_id"),
        service_tier=opt_str(row, "service_tier"),
        batch=opt_bool(row, "batch"),
        requests=count(row, "num_model_requests") if requests is not None else None,
        extra_dims=(("user_id", user),) if user else (),
        extras=extras,
    )


def split_line_item(line_item: str | None) -> tuple[str | None, str | None]:
    """``"gpt-4o, input"`` → (``gpt-4o``, ``input``); other shapes → (None, None)."""
    if not line_item or ", " not in line_item:
        return None, None
    model, _, kind = line_item.partition(", ")
    if " " in model.strip() or not kind.strip():
        return None, None
    return model.strip(), kind.strip().lower()


def parse_cost_result(row: Mapping[str, Any], day: date) -> CostRow:
    amount = row.get("amount")
    if not isinstance(amount, Mapping):
        raise ReportFieldError("amount", "is missing")
    currency = opt_str(amount, "currency")
    if currency is None:
        raise ReportFieldError("amount.currency", "is missing")
    if currency.upper() != "USD":
        raise ReportFieldError(
            "amount.currency",
            f"{currency!r} is not USD; aifinops keeps money in USD and has no exchange rate",
        )
    value = decimal(amount.get("value"), "amount.value")
    line_item = opt_str(row, "line_item")
    model, token_type = split_line_item(line_item)
    quantity = row.get("quantity")
    return CostRow(
        day=day,
        cost_nusd=int((value * NANO_PER_USD).to_integral_value(rounding=ROUND_HALF_UP)),
        account_id=opt_str(row, "project_id"),
        api_key_id=opt_str(row, "api_key_id"),
        line_item=line_item,
        model=model,
        token_type=token_type,
        quantity=str(decimal(quantity, "quantity")) if quantity is not None else None,
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
            start = timestamp(bucket.get("start_time"), "start_time")
        except ReportFieldError as exc:
            parsed.problems.append(Problem(f"bucket {i}", f"{exc}; bucket skipped"))
            continue
        results = bucket.get("results", bucket.get("result"))
        parsed.days.append(start.date())
        out.append((start, results if isinstance(results, list) else []))
    return out


def usage_parser(width: str, known: KnownModel | None = None) -> Callable[..., ParsedPage]:
    return usage_page_parser(PROVIDER, _buckets, parse_usage_result, width, known)


def cost_parser() -> Callable[..., ParsedPage]:
    def parse(page: Mapping[str, Any]) -> ParsedPage:
        parsed = ParsedPage()
        for start, results in _buckets(page, parsed):
            for j, result in enumerate(results):
                try:
                    parsed.rows.append(parse_cost_result(result, start.date()))
                except (ReportFieldError, AttributeError) as exc:
                    where = f"costs {start:%Y-%m-%d} result {j}"
                    parsed.problems.append(Problem(where, f"{exc}; row skipped"))
        return parsed

    return parse


def _usage_params_of(width: str, groups: tuple[str, ...]) -> Callable[[date, date], Params]:
    def params(start: date, end: date) -> Params:
        return usage_params(start, end, width, groups)

    return params


def report_specs(bucket_width: str = "1d", known: KnownModel | None = None) -> list[ReportSpec]:
    """Completions and embeddings usage and the costs report, for `pull_report`."""
    if bucket_width not in LIMITS:
        raise ValueError(f"bucket_width must be 1d or 1h, got {bucket_width!r}")
    groups = {"completions": USAGE_GROUPS, "embeddings": EMBEDDING_GROUPS}
    specs = [
        ReportSpec(
            source=f"{PROVIDER}:usage_{kind}",
            provider=PROVIDER,
            path=path,
            params=_usage_params_of(bucket_width, groups[kind]),
            parse_page=usage_parser(bucket_width, known),
        )
        for kind, path in USAGE_PATHS.items()
    ]
    specs.append(
        ReportSpec(
            source=f"{PROVIDER}:costs",
            provider=PROVIDER,
            path=COSTS_PATH,
            params=cost_params,
            parse_page=cost_parser(),
        )
    )
    return specs
