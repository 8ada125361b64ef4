"""The audit log: every write through the API or the CLI, with who, what, when, before/after.

An entry is written in the same transaction as the change it describes, so a change
without its entry (or the reverse) cannot be committed. Entries never hold a secret.
"""

from __future__ import annotations

import getpass
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from aifinops.ledger.schema_api import audit_log


def record_audit(
    conn: Connection,
    *,
    actor: str,
    via: str,
    action: str,
    target: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            audit_id=uuid.uuid4().hex,
            ts=datetime.now(UTC),
            actor=actor[:200],
            via=via,
            action=action,
            target=target,
            before_state=before,
            after_state=after,
        )
    )


def cli_actor() -> str:
    """Who runs a CLI command: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return "cli:unknown"
