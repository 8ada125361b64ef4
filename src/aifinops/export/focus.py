"""FOCUS 1.2 export of the ledger: one row per day × provider × model × SKU × attribution.

The FOCUS 1.3 columns ``ServiceProviderName`` and ``HostProviderName`` ride along (1.2
tools ignore them; the 1.2 validator passes), so 1.3 consumers need no other export.

Read from the hourly rollup (grouped by UTC day in SQL, never a scan of raw events).
Each rollup group (day, provider, model, team, feature, customer, prompt version)
becomes one row per token type it used — the SKU: uncached input, cache read, 5-minute
and 1-hour cache write, output, web search requests. The group's list and effective
cost are split over its SKUs in proportion to tokens × the model's base list rate
(largest remainder, so the rows add up to the ledger to the nano-dollar); a model with
no list price is split by tokens and its rows say ``x_PriceStatus=unpriced``.
The column-by-column mapping and its reasons are in docs/provider-reports.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection, RowMapping

from aifinops.ledger.schema import rollup_hourly
from aifinops.money import nusd_to_usd
from aifinops.periods import month_bounds
from aifinops.pricing import BUCKETS, PricingEngine

#: The SKUs of a rollup group: (token type, rollup column, meter, unit, pricing block).
SKUS: tuple[tuple[str, str, str, str, int], ...] = (
    ("input", "input_tokens", "Input Tokens", "Tokens", 1000),
    ("cache_read", "cache_read_tokens", "Cache Read Input Tokens", "Tokens", 1000),
    ("cache_write_5m", "cache_write_5m_tokens", "Cache Write Input Tokens (5m)", "Tokens", 1000),
    ("cache_write_1h", "cache_write_1h_tokens", "Cache Write Input Tokens (1h)", "Tokens", 1000),
    ("output", "output_tokens", "Output Tokens", "Tokens", 1000),
    ("web_search", "web_search_requests", "Web Search Requests", "Requests", 1000),
)
assert tuple(s[0] for s in SKUS) == BUCKETS

FOCUS_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceProviderName",  # FOCUS 1.3 (replaces ProviderName, kept for 1.2)
    "HostProviderName",  # FOCUS 1.3
    "InvoiceId",
    "ServiceName",
    "ServiceCategory",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SkuMeter",
    "Tags",
)
EXTRA_COLUMNS: tuple[str, ...] = (
    "x_Provider",
    "x_Model",
    "x_TokenType",
    "x_Tokens",
    "x_ReasoningTokens",
    "x_Team",
    "x_Feature",
    "x_CustomerId",
    "x_PromptVersion",
    "x_Calls",
    "x_UnpricedCalls",
    "x_PriceStatus",
)
COLUMNS: tuple[str, ...] = FOCUS_COLUMNS + EXTRA_COLUMNS

PROVIDER_NAMES: Mapping[str, str] = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "bedrock": "Amazon Web Services",
}
SERVICE_NAMES: Mapping[str, str] = {
    "anthropic": "Claude API",
    "openai": "OpenAI API",
    "bedrock": "Amazon Bedrock",
}
_PUBLISHERS: tuple[tuple[str, str], ...] = (
    ("claude", "Anthropic"),
    ("anthropic", "Anthropic"),
    ("llama", "Meta"),
    ("meta.", "Meta"),
    ("mistral", "Mistral AI"),
    ("cohere", "Cohere"),
    ("amazon.", "Amazon Web Services"),
    ("nova", "Amazon Web Services"),
    ("deepseek", "DeepSeek"),
    ("gpt", "OpenAI"),
)
_DIMS = ("provider", "model", "team", "feature", "customer_id", "prompt_version")
_MEASURES = (
    "calls",
    "unpriced_calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "list_cost_nusd",
    "effective_cost_nusd",
)
UNIT_PRICE_PLACES = Decimal("1E-12")


@dataclass(slots=True)
class ExportSummary:
    rows: int = 0
    groups: int = 0
    list_cost_nusd: int = 0
    effective_cost_nusd: int = 0
    unpriced_groups: int = 0


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date) -> str:
    return _iso(datetime.combine(day, time()))


def _decimal_text(value: Decimal) -> str:
    """A decimal that always reads as one (``1`` → ``1.0``), so readers type it Decimal."""
    text = f"{value.normalize():f}"
    return text if "." in text else text + ".0"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split the integer ``total`` in proportion to ``weights`` (largest remainder, exact)."""
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def publisher_of(provider: str, model: str) -> str:
    if provider != "bedrock":
        return PROVIDER_NAMES.get(provider, provider)
    lowered = model.lower()
    return next((name for key, name in _PUBLISHERS if key in lowered), "Amazon Web Services")


def _groups(conn: Connection, start: date, end: date) -> Iterator[RowMapping]:
    r = rollup_hourly.c
    keys = [r.day, *(r[d] for d in _DIMS)]
    stmt = (
        select(*keys, *(func.sum(r[m]).label(m) for m in _MEASURES))
        .where(and_(r.day >= start, r.day <= end))
        .group_by(*keys)
        .order_by(*keys)
    )
    yield from conn.execution_options(stream_results=True, yield_per=5_000).execute(stmt).mappings()


class _Rates:
    """Base list rates (pico-USD per unit, `BUCKETS` order) per provider, model and day."""

    def __init__(self, pricing: PricingEngine) -> None:
        self.pricing = pricing

    def at(self, provider: str, model: str, day: date) -> tuple[int, ...] | None:
        plan = self.pricing.plan(provider, model, None, False)
        if plan is None:
            return None
        return tuple(plan.period_at(day).list_card.rates[0])


def _tags(group: Mapping[Any, Any]) -> str | None:
    tags = {
        name: group[name]
        for name in ("team", "feature", "customer_id", "prompt_version")
        if group[name]
    }
    return json.dumps(tags, sort_keys=True, separators=(",", ":")) if tags else None


def _unit_price(cost_nusd: int, quantity: Decimal) -> str:
    price = (Decimal(cost_nusd).scaleb(-9) / quantity).quantize(UNIT_PRICE_PLACES)
    return _decimal_text(price)


def group_rows(group: Mapping[Any, Any], rates: tuple[int, ...] | None) -> list[dict[str, Any]]:
    """The FOCUS rows of one rollup group (pure)."""
    day = group["day"] if isinstance(group["day"], date) else date.fromisoformat(str(group["day"]))
    provider, model = str(group["provider"]), str(group["model"])
    counts = [int(group[column] or 0) for _, column, _, _, _ in SKUS]
    used = [i for i, c in enumerate(counts) if c > 0]
    if not used:
        return []
    weights = [counts[i] * (rates[i] if rates else 1) for i in used]
    if not any(weights):
        weights = [counts[i] for i in used]
    lists = allocate(int(group["list_cost_nusd"] or 0), weights)
    effectives = allocate(int(group["effective_cost_nusd"] or 0), weights)
    month_start, month_end = month_bounds(day.year, day.month)
    provider_name = PROVIDER_NAMES.get(provider, provider)
    unpriced = int(group["unpriced_calls"] or 0)
    status = "unpriced" if rates is None or unpriced >= int(group["calls"] or 0) else "priced"
    if status == "priced" and unpriced:
        status = "partly unpriced"
    common = {
        "BillingCurrency": "USD",
        "BillingAccountId": f"aifinops:{provider}",
        "BillingAccountName": f"{provider_name} (as recorded by aifinops)",
        "BillingPeriodStart": _midnight(month_start),
        "BillingPeriodEnd": _midnight(month_end + timedelta(days=1)),
        "ChargePeriodStart": _midnight(day),
        "ChargePeriodEnd": _midnight(day + timedelta(days=1)),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "ProviderName": provider_name,
        "PublisherName": publisher_of(provider, model),
        "InvoiceIssuerName": provider_name,
        # FOCUS 1.3: the provider sells the service and runs it (for Bedrock, AWS does
        # both); the host "MAY equal ServiceProviderName" when no other host is visible
        "ServiceProviderName": provider_name,
        "HostProviderName": provider_name,
        # null: aifinops issues no invoice and does not know the provider's invoice number
        # (FOCUS: "SHOULD be null if a provider does not pre-generate invoice IDs")
        "InvoiceId": None,
        "ServiceName": SERVICE_NAMES.get(provider, provider_name),
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "Tags": _tags(group),
        "x_Provider": provider,
        "x_Model": model,
        "x_Team": group["team"] or None,
        "x_Feature": group["feature"] or None,
        "x_CustomerId": group["customer_id"] or None,
        "x_PromptVersion": group["prompt_version"] or None,
        "x_Calls": int(group["calls"] or 0),
        "x_UnpricedCalls": unpriced,
        "x_PriceStatus": status,
    }
    out = []
    for slot, i in enumerate(used):
        token_type, _, meter, unit, block = SKUS[i]
        quantity = Decimal(counts[i]) / block
        list_usd, effective_usd = lists[slot], effectives[slot]
        sku = f"{provider}/{model}/{token_type}"
        out.append(
            {
                **common,
                "BilledCost": nusd_to_usd(effective_usd),
                "EffectiveCost": nusd_to_usd(effective_usd),
                "ListCost": nusd_to_usd(list_usd),
                "ContractedCost": nusd_to_usd(effective_usd),
                "ChargeDescription": f"{model} {meter.lower()} ({provider_name})",
                "PricingQuantity": _decimal_text(quantity),
                "PricingUnit": f"{block} {unit}",
                "ListUnitPrice": _unit_price(list_usd, quantity),
                "ContractedUnitPrice": _unit_price(effective_usd, quantity),
                "ConsumedQuantity": _decimal_text(Decimal(counts[i])),
                "ConsumedUnit": unit,
                "SkuId": sku,
                "SkuPriceId": f"{sku}/standard",
                "SkuMeter": meter,
                "x_TokenType": token_type,
                "x_Tokens": counts[i],
                "x_ReasoningTokens": int(group["reasoning_tokens"] or 0)
                if token_type == "output"
                else None,
            }
        )
    return out


def focus_rows(
    conn: Connection, pricing: PricingEngine, start: date, end: date, summary: ExportSummary
) -> Iterator[list[dict[str, Any]]]:
    """The FOCUS rows of the inclusive UTC days ``start``..``end``, a rollup group at a
    time (as text, the CSV's values); ``summary`` counts them as they go."""
    rates = _Rates(pricing)
    for group in _groups(conn, start, end):
        day = group["day"]
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        card = rates.at(str(group["provider"]), str(group["model"]), day)
        rows = group_rows(group, card)
        if not rows:
            continue
        summary.groups += 1
        summary.unpriced_groups += card is None
        summary.rows += len(rows)
        summary.list_cost_nusd += int(group["list_cost_nusd"] or 0)
        summary.effective_cost_nusd += int(group["effective_cost_nusd"] or 0)
        yield rows


def write_focus_csv(
    conn: Connection, pricing: PricingEngine, start: date, end: date, out: TextIO
) -> ExportSummary:
    """Write the FOCUS CSV of the inclusive UTC days ``start``..``end`` to ``out``."""
    summary = ExportSummary()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for rows in focus_rows(conn, pricing, start, end, summary):
        writer.writerows(rows)
    return summary
