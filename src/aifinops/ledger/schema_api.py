"""The API's tables: hashed API tokens and the audit log of every write.

- ``api_tokens``: one row per token; only the SHA-256 of the secret is stored. The role
  is text: ``admin``, ``finance``, ``ingest``, ``metrics``, ``team:T`` or ``customer:C``.
- ``audit_log``: who changed what and when, through the API or the CLI, with the
  record before and after (never a secret or a hash).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, String, Table

from aifinops.ledger.schema import metadata

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(50), primary_key=True),
    Column("name", String(200)),
    Column("role", String(250), nullable=False),
    Column("token_hash", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_tokens_token_hash", "token_hash", unique=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", String(64), primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("via", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200)),
    Column("before_state", JSON),
    Column("after_state", JSON),
    Index("ix_audit_log_ts", "ts"),
)
