"""Provider reports: what the providers say they served and billed, and the pull state.

- ``provider_usage``: token counts from a provider's usage report (Anthropic usage
  report, OpenAI usage API), one row per bucket × group (model, workspace/project,
  api key, service tier, batch, context window). Counts use the canonical split of
  `aifinops.usage` (uncached input, cache reads, 5m/1h cache writes, output).
- ``provider_costs``: billed cost from a provider's cost report (Anthropic cost report,
  OpenAI costs API, AWS CUR 2.0 for Bedrock), one row per day × group × line item,
  in integer nano-USD.
- ``ingest_days``: per source and UTC day, whether the last pull completed; a
  resumed pull skips completed days. ``ingest_runs``: one row per pull, with its status
  and last error (what ``/api/v1/ingest`` and ``/metrics`` will show).

Each report row is keyed by ``row_key``, a digest of its group dimensions, so a
re-pulled day replaces its rows (delete the day, insert the pull) and a row sent twice
(overlapping pages) is stored once.
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
    String,
    Table,
    Text,
)

from aifinops.ledger.schema import metadata

#: Token counts a usage report row carries (canonical names; see `aifinops.usage`).
REPORT_TOKENS: tuple[str, ...] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "web_search_requests",
)

provider_usage = Table(
    "provider_usage",
    metadata,
    Column("source", String(50), primary_key=True),
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    Column("row_key", String(64), primary_key=True),
    Column("provider", String(50), nullable=False),
    Column("day", Date, nullable=False),
    Column("bucket_width", String(5), nullable=False),
    Column("model", String(200)),
    Column("account_id", String(200)),
    Column("api_key_id", String(200)),
    Column("service_tier", String(50)),
    Column("batch", Boolean),
    Column("context_window", String(50)),
    *(Column(name, BigInteger, nullable=False) for name in REPORT_TOKENS),
    Column("requests", BigInteger),
    Column("details", JSON),
    Column("pulled_at", DateTime(timezone=True), nullable=False),
    Index("ix_provider_usage_day", "day", "provider"),
)

provider_costs = Table(
    "provider_costs",
    metadata,
    Column("source", String(50), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("row_key", String(64), primary_key=True),
    Column("provider", String(50), nullable=False),
    Column("account_id", String(200)),
    Column("api_key_id", String(200)),
    Column("line_item", String(500)),
    Column("model", String(200)),
    Column("cost_type", String(50)),
    Column("token_type", String(100)),
    Column("service_tier", String(50)),
    Column("quantity", String(50)),  # decimal text, as the provider sent it
    Column("cost_nusd", BigInteger, nullable=False),
    Column("details", JSON),
    Column("pulled_at", DateTime(timezone=True), nullable=False),
    Index("ix_provider_costs_day", "day", "provider"),
)

ingest_days = Table(
    "ingest_days",
    metadata,
    Column("source", String(50), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("pulled_at", DateTime(timezone=True), nullable=False),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("source", String(50), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("days_done", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("last_error", Text),
    Index("ix_ingest_runs_source", "source", "started_at"),
)
