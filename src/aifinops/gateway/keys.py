"""Gateway keys: created once, stored only as a SHA-256 hash, each fixing its team.

A key reads ``afk_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the record
without scanning, the secret is 32 random bytes (URL-safe base64). A high-entropy
secret needs no slow hash; SHA-256 of the whole key is stored and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from aifinops.ledger.schema import gateway_keys

KEY_PREFIX = "afk_"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key (never the secret)."""

    key_id: str
    team: str
    feature: str | None
    name: str | None
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    rotated_from: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id part of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 12 or not secret:
        return None
    return key_id


def matches(record: KeyRecord, key: str) -> bool:
    return hmac.compare_digest(record.key_hash, hash_key(key))


def new_key() -> tuple[str, str]:
    """(key_id, the whole secret key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def _record(row: object) -> KeyRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return KeyRecord(
        key_id=m["key_id"],
        team=m["team"],
        feature=m["feature"],
        name=m["name"],
        key_hash=m["key_hash"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
        rotated_from=m["rotated_from"],
    )


def create_key(
    conn: Connection,
    team: str,
    feature: str | None = None,
    name: str | None = None,
    *,
    rotated_from: str | None = None,
) -> tuple[KeyRecord, str]:
    """Store a new key; returns its record and the secret (shown once, never stored)."""
    key_id, secret = new_key()
    record = KeyRecord(
        key_id=key_id,
        team=team,
        feature=feature,
        name=name,
        key_hash=hash_key(secret),
        created_at=datetime.now(UTC),
        rotated_from=rotated_from,
    )
    conn.execute(
        insert(gateway_keys).values(
            key_id=record.key_id,
            name=record.name,
            team=record.team,
            feature=record.feature,
            key_hash=record.key_hash,
            created_at=record.created_at,
            revoked_at=None,
            rotated_from=record.rotated_from,
        )
    )
    return record, secret


def list_keys(conn: Connection, *, include_revoked: bool = False) -> list[KeyRecord]:
    query = select(gateway_keys).order_by(gateway_keys.c.created_at, gateway_keys.c.key_id)
    if not include_revoked:
        query = query.where(gateway_keys.c.revoked_at.is_(None))
    return [_record(row) for row in conn.execute(query.limit(100_000))]


def get_key(conn: Connection, key_id: str) -> KeyRecord | None:
    row = conn.execute(select(gateway_keys).where(gateway_keys.c.key_id == key_id)).first()
    return None if row is None else _record(row)


def revoke_key(conn: Connection, key_id: str) -> bool:
    """Revoke an active key; False when there is no such active key."""
    result = conn.execute(
        update(gateway_keys)
        .where(gateway_keys.c.key_id == key_id, gateway_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


def rotate_key(conn: Connection, key_id: str) -> tuple[KeyRecord, str] | None:
    """Revoke ``key_id`` and create its successor with the same team, feature and name."""
    old = get_key(conn, key_id)
    if old is None or not old.active:
        return None
    revoke_key(conn, key_id)
    return create_key(conn, old.team, old.feature, old.name, rotated_from=key_id)


def load_active_keys(engine: Engine) -> dict[str, KeyRecord]:
    """Every active key by id (the gateway's in-memory cache)."""
    with engine.connect() as conn:
        return {k.key_id: k for k in list_keys(conn)}
