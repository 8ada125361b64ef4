"""The gateway: hashed gateway keys and the requests it refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_keys",
        sa.Column("key_id", sa.String(50), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("feature", sa.String(200)),
        sa.Column("key_hash", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("rotated_from", sa.String(50)),
    )
    op.create_index("ix_gateway_keys_key_hash", "gateway_keys", ["key_hash"], unique=True)
    op.create_table(
        "gateway_rejections",
        sa.Column("rejection_id", sa.String(64), primary_key=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("field", sa.String(200)),
        sa.Column("provider", sa.String(50)),
        sa.Column("path", sa.String(200)),
        sa.Column("api_key_id", sa.String(50)),
        sa.Column("team", sa.String(200)),
        sa.Column("message", sa.Text),
    )
    op.create_index("ix_gateway_rejections_ts", "gateway_rejections", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_gateway_rejections_ts", table_name="gateway_rejections")
    op.drop_table("gateway_rejections")
    op.drop_index("ix_gateway_keys_key_hash", table_name="gateway_keys")
    op.drop_table("gateway_keys")
