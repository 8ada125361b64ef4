"""The ledger's tables (SQLAlchemy Core): raw events and the hourly rollup.

Money is integer nano-USD (``*_nusd`` BIGINT); a null cost means unknown, never $0.
Times are UTC. The Alembic migrations in ``migrations/versions`` create exactly these
tables; a test checks that migrations and this module never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Rollup dimensions. A missing value is stored as "" so the composite key stays unique.
ROLLUP_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
    "team",
    "feature",
    "customer_id",
    "prompt_version",
)

#: Summed measures of the rollup, in order.
ROLLUP_MEASURES: tuple[str, ...] = (
    "calls",
    "errors",
    "unpriced_calls",
    "unpriced_tokens",
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

usage_events = Table(
    "usage_events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("request_id", String(200)),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer),
    Column("ttft_ms", Integer),
    Column("provider", String(50), nullable=False),
    Column("model", String(200), nullable=False),
    Column("requested_model", String(200)),
    Column("endpoint", String(100)),
    Column("service_tier", String(50)),
    Column("batch", Boolean, nullable=False),
    Column("team", String(200)),
    Column("feature", String(200)),
    Column("customer_id", String(200)),
    Column("prompt_version", String(200)),
    Column("unit_id", String(200)),
    Column("api_key_id", String(200)),
    Column("tags", JSON),
    Column("input_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_5m_tokens", BigInteger, nullable=False),
    Column("cache_write_1h_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("web_search_requests", BigInteger, nullable=False),
    Column("list_cost_nusd", BigInteger),
    Column("effective_cost_nusd", BigInteger),
    Column("price_version", String(100)),
    Column("max_tokens", Integer),
    Column("stop_reason", String(50)),
    Column("system_tokens", Integer),
    Column("system_hash", String(100)),
    Column("prefix_hash", String(100)),
    Column("context_chunks", Integer),
    Column("status", Integer),
    Column("error_type", String(100)),
    Column("unpriced", Boolean, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("unattributed", Boolean, nullable=False),
    Column("route_reason", String(200)),
    Column("guardrails", JSON),
    Column("details", JSON),
    Index("ix_usage_events_ts", "ts"),
)

rollup_hourly = Table(
    "rollup_hourly",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    *(Column(name, String(200), primary_key=True) for name in ROLLUP_DIMENSIONS),
    Column("day", Date, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in ROLLUP_MEASURES),
    Index("ix_rollup_hourly_day", "day"),
)

#: The same measures per UTC day: day and coarser reports read this (a month is ~30
#: rows per combination instead of ~720); hour reports and other time zones read hourly.
rollup_daily = Table(
    "rollup_daily",
    metadata,
    Column("day", Date, primary_key=True),
    *(Column(name, String(200), primary_key=True) for name in ROLLUP_DIMENSIONS),
    *(Column(name, BigInteger, nullable=False) for name in ROLLUP_MEASURES),
)

ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Gateway keys: only the SHA-256 of each secret is stored; the key fixes its team.
gateway_keys = Table(
    "gateway_keys",
    metadata,
    Column("key_id", String(50), primary_key=True),
    Column("name", String(200)),
    Column("team", String(200), nullable=False),
    Column("feature", String(200)),
    Column("key_hash", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("rotated_from", String(50)),
    Index("ix_gateway_keys_key_hash", "key_hash", unique=True),
)

#: Requests the gateway refused itself (401, 400, 413 …): not model calls, not in the ledger.
gateway_rejections = Table(
    "gateway_rejections",
    metadata,
    Column("rejection_id", String(64), primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("status", Integer, nullable=False),
    Column("reason", String(50), nullable=False),
    Column("field", String(200)),
    Column("provider", String(50)),
    Column("path", String(200)),
    Column("api_key_id", String(50)),
    Column("team", String(200)),
    Column("message", Text),
    Index("ix_gateway_rejections_ts", "ts"),
)

from aifinops.ledger import schema_api as _schema_api  # noqa: E402,F401  (registers its tables on metadata)
from aifinops.ledger import schema_economics as _schema_economics  # noqa: E402,F401  (registers its tables on metadata)
from aifinops.ledger import schema_gates as _schema_gates  # noqa: E402,F401  (registers its tables on metadata)
from aifinops.ledger import schema_governance as _schema_governance  # noqa: E402,F401  (registers its tables on metadata)
from aifinops.ledger import schema_optimize as _schema_optimize  # noqa: E402,F401  (registers its tables on metadata)
from aifinops.ledger import schema_reports as _schema_reports  # noqa: E402,F401  (registers its tables on metadata)
