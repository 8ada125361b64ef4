"""The ledger: raw usage events, the hourly rollup and ledger metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DIMENSIONS = ("provider", "model", "team", "feature", "customer_id", "prompt_version")
MEASURES = (
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
TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
)


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("request_id", sa.String(200)),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("ttft_ms", sa.Integer),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("requested_model", sa.String(200)),
        sa.Column("endpoint", sa.String(100)),
        sa.Column("service_tier", sa.String(50)),
        sa.Column("batch", sa.Boolean, nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("feature", sa.String(200)),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("prompt_version", sa.String(200)),
        sa.Column("unit_id", sa.String(200)),
        sa.Column("api_key_id", sa.String(200)),
        sa.Column("tags", sa.JSON),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in TOKENS),
        sa.Column("list_cost_nusd", sa.BigInteger),
        sa.Column("effective_cost_nusd", sa.BigInteger),
        sa.Column("price_version", sa.String(100)),
        sa.Column("max_tokens", sa.Integer),
        sa.Column("stop_reason", sa.String(50)),
        sa.Column("system_tokens", sa.Integer),
        sa.Column("system_hash", sa.String(100)),
        sa.Column("prefix_hash", sa.String(100)),
        sa.Column("context_chunks", sa.Integer),
        sa.Column("status", sa.Integer),
        sa.Column("error_type", sa.String(100)),
        sa.Column("unpriced", sa.Boolean, nullable=False),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.Column("unattributed", sa.Boolean, nullable=False),
        sa.Column("route_reason", sa.String(200)),
        sa.Column("guardrails", sa.JSON),
        sa.Column("details", sa.JSON),
    )
    op.create_index("ix_usage_events_ts", "usage_events", ["ts"])
    op.create_table(
        "rollup_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        *(sa.Column(name, sa.String(200), primary_key=True) for name in DIMENSIONS),
        sa.Column("day", sa.Date, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in MEASURES),
    )
    op.create_index("ix_rollup_hourly_day", "rollup_hourly", ["day"])
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_meta")
    op.drop_index("ix_rollup_hourly_day", table_name="rollup_hourly")
    op.drop_table("rollup_hourly")
    op.drop_index("ix_usage_events_ts", table_name="usage_events")
    op.drop_table("usage_events")
