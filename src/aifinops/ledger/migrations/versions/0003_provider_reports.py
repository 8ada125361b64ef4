"""Provider reports: provider usage and costs, and the state of their pulls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "web_search_requests",
)


def upgrade() -> None:
    op.create_table(
        "provider_usage",
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("row_key", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("bucket_width", sa.String(5), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("account_id", sa.String(200)),
        sa.Column("api_key_id", sa.String(200)),
        sa.Column("service_tier", sa.String(50)),
        sa.Column("batch", sa.Boolean),
        sa.Column("context_window", sa.String(50)),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in TOKENS),
        sa.Column("requests", sa.BigInteger),
        sa.Column("details", sa.JSON),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_provider_usage_day", "provider_usage", ["day", "provider"])
    op.create_table(
        "provider_costs",
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("row_key", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("account_id", sa.String(200)),
        sa.Column("api_key_id", sa.String(200)),
        sa.Column("line_item", sa.String(500)),
        sa.Column("model", sa.String(200)),
        sa.Column("cost_type", sa.String(50)),
        sa.Column("token_type", sa.String(100)),
        sa.Column("service_tier", sa.String(50)),
        sa.Column("quantity", sa.String(50)),
        sa.Column("cost_nusd", sa.BigInteger, nullable=False),
        sa.Column("details", sa.JSON),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_provider_costs_day", "provider_costs", ["day", "provider"])
    op.create_table(
        "ingest_days",
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("days_done", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_ingest_runs_source", "ingest_runs", ["source", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_ingest_runs_source", table_name="ingest_runs")
    op.drop_table("ingest_runs")
    op.drop_table("ingest_days")
    op.drop_index("ix_provider_costs_day", table_name="provider_costs")
    op.drop_table("provider_costs")
    op.drop_index("ix_provider_usage_day", table_name="provider_usage")
    op.drop_table("provider_usage")
