"""Request and response bodies: they are the OpenAPI document's schemas.

Money is a decimal string in USD in fields ending ``_usd``; token counts are integers;
times are ISO-8601 UTC ending in ``Z``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Printable text only (PostgreSQL refuses NUL in text).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: invalid_parameter, unauthorized, …")
    message: str = Field(description="What went wrong and how to fix it.")
    field: str | None = Field(description="The parameter or body field at fault, if any.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Measures(BaseModel):
    calls: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    web_search_requests: int
    list_cost_usd: str
    effective_cost_usd: str
    share_of_total: float
    errors: int
    unpriced_calls: int
    unpriced_tokens: int


class SpendRow(Measures):
    """One group: its dimensions (those asked for in ``by``) and its measures."""

    model_config = ConfigDict(extra="forbid")

    provider: str | None = None
    model: str | None = None
    team: str | None = None
    feature: str | None = None
    customer: str | None = None
    customer_id: str | None = None
    prompt_version: str | None = None
    day: str | None = None
    hour: str | None = None


class SpendMeta(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    report: str
    from_: str = Field(alias="from")
    to: str
    by: list[str]
    top: int | None
    filters: dict[str, str]
    currency: str
    source: str
    generated_at: str
    scope: str | None = Field(description="The caller's scope (team:T, customer:C) or null.")


class SpendDocument(BaseModel):
    rows: list[SpendRow]
    totals: Measures
    meta: SpendMeta


class PageMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
    scope: str | None = None


class EventRow(BaseModel):
    event_id: str
    request_id: str | None
    ts: str
    duration_ms: int | None
    ttft_ms: int | None
    provider: str
    model: str
    requested_model: str | None
    endpoint: str | None
    service_tier: str | None
    batch: bool
    team: str | None
    feature: str | None
    customer_id: str | None
    prompt_version: str | None
    unit_id: str | None
    api_key_id: str | None
    tags: dict[str, Any] | None
    input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    web_search_requests: int
    list_cost_usd: str | None
    effective_cost_usd: str | None
    price_version: str | None
    max_tokens: int | None
    stop_reason: str | None
    system_tokens: int | None
    system_hash: str | None
    prefix_hash: str | None
    context_chunks: int | None
    status: int | None
    error_type: str | None
    unpriced: bool
    usage_estimated: bool
    unattributed: bool
    route_reason: str | None


class EventsPage(BaseModel):
    rows: list[EventRow]
    meta: PageMeta


class RejectionRow(BaseModel):
    rejection_id: str
    ts: str
    status: int
    reason: str
    field: str | None
    provider: str | None
    path: str | None
    api_key_id: str | None
    team: str | None
    message: str | None


class RejectionsPage(BaseModel):
    rows: list[RejectionRow]
    meta: PageMeta


class KeySummary(BaseModel):
    key_id: str
    team: str
    feature: str | None
    name: str | None
    created_at: str
    revoked_at: str | None
    rotated_from: str | None


class KeyList(BaseModel):
    rows: list[KeySummary]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=200, description="Team every call is billed to.")
    feature: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200, pattern=PRINTABLE)


class KeyCreated(BaseModel):
    key: KeySummary
    secret: str = Field(description="The gateway key; shown this once, never again.")


class KeyRevoked(BaseModel):
    key: KeySummary


class TokenSummary(BaseModel):
    token_id: str
    role: str
    name: str | None
    created_at: str
    created_by: str | None
    revoked_at: str | None


class TokenList(BaseModel):
    rows: list[TokenSummary]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(
        min_length=1, max_length=250, description="admin, finance, team:T, customer:C, …"
    )
    name: str | None = Field(default=None, max_length=200, pattern=PRINTABLE)


class TokenCreated(BaseModel):
    token: TokenSummary
    secret: str = Field(description="The API token; shown this once, never again.")


class TokenRevoked(BaseModel):
    token: TokenSummary


class RecorderHealth(BaseModel):
    queue_depth: int
    spool_bytes: int
    written: int
    ledger_up: bool
    last_error: str | None
    last_write_at: str | None = Field(
        default=None, description="When the recorder last wrote a batch to the ledger (UTC)."
    )


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when the last ledger write failed.")
    recorder: RecorderHealth | None = Field(description="Null when no gateway runs here.")
    last_event_ts: str | None = Field(description="Time of the newest event in the ledger.")


class AuditRow(BaseModel):
    audit_id: str
    ts: str
    actor: str
    via: str
    action: str
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    rows: list[AuditRow]
    meta: PageMeta
