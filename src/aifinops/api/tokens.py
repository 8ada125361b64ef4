"""API tokens: created once, stored only as a SHA-256 hash, each with one role.

A token reads ``aft_<token_id>_<secret>`` (gateway keys read ``afk_…``, so neither can
be mistaken for the other, and each is looked up only in its own table). The secret
is 32 random bytes; SHA-256 of the whole token is stored and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from aifinops.api.roles import Role, RoleKind
from aifinops.ledger.schema_api import api_tokens

TOKEN_PREFIX = "aft_"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored token (never its secret)."""

    token_id: str
    role: Role
    name: str | None
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def summary(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "role": str(self.role),
            "name": self.name,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
            "revoked_at": _iso(self.revoked_at) if self.revoked_at else None,
        }


def _iso(value: datetime) -> str:
    utc = value.astimezone(UTC) if value.tzinfo else value
    return utc.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The id part of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 12 or not secret:
        return None
    return token_id


def _record(m: RowMapping) -> TokenRecord:
    return TokenRecord(
        token_id=m["token_id"],
        role=Role.parse(m["role"]),
        name=m["name"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        revoked_at=m["revoked_at"],
    )


def create_token(
    conn: Connection, role: Role, name: str | None = None, *, created_by: str | None = None
) -> tuple[TokenRecord, str]:
    """Store a new token; returns its record and the secret (shown once, never stored)."""
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(
        token_id=token_id,
        role=role,
        name=name,
        created_at=datetime.now(UTC),
        created_by=created_by,
    )
    conn.execute(
        insert(api_tokens).values(
            token_id=token_id,
            name=name,
            role=str(role),
            token_hash=hash_token(secret),
            created_at=record.created_at,
            created_by=created_by,
            revoked_at=None,
        )
    )
    return record, secret


def list_tokens(conn: Connection, *, include_revoked: bool = False) -> list[TokenRecord]:
    query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    return [_record(m) for m in conn.execute(query.limit(100_000)).mappings()]


def get_token(conn: Connection, token_id: str) -> TokenRecord | None:
    m = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).mappings()
    row = m.first()
    return None if row is None else _record(row)


def revoke_token(conn: Connection, token_id: str) -> TokenRecord | None:
    """Revoke an active token; its record after, or None when there is no such token."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return get_token(conn, token_id) if result.rowcount else None


def verify_token(conn: Connection, token: str) -> TokenRecord | None:
    """The active token this secret is, else None (unknown, malformed or revoked)."""
    token_id = token_id_of(token)
    if token_id is None:
        return None
    row = (
        conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).mappings().first()
    )
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["token_hash"], hash_token(token)):
        return None
    return _record(row)


def has_admin_token(conn: Connection) -> bool:
    """Whether any admin token was ever created (revoked ones count: not a first start)."""
    query = select(api_tokens.c.token_id).where(api_tokens.c.role == str(RoleKind.admin))
    return conn.execute(query.limit(1)).first() is not None
