"""Recorded gate runs (``--record``): write one, list a feature's history."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from aifinops.gate.run import GateRun
from aifinops.ledger.queries import MAX_PAGE, QueryError, Scope
from aifinops.ledger.schema_gates import gate_runs


def record_run(engine: Engine, run: GateRun, ran_by: str, now: datetime | None = None) -> str:
    """Store the run; returns its id (``gate_`` and 16 random hex digits)."""
    run_id = f"gate_{secrets.token_hex(8)}"
    doc = run.document
    with engine.begin() as conn:
        conn.execute(
            gate_runs.insert().values(
                run_id=run_id,
                ts=now or datetime.now(UTC),
                feature=doc["feature"],
                team=run.team,
                baseline=doc["baseline"]["selection"][:1000],
                candidate=doc["candidate"]["selection"][:1000],
                verdict=doc["verdict"],
                exit_code=doc["exit_code"],
                ran_by=ran_by[:200],
                document=doc,
            )
        )
    return run_id


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def list_runs(
    conn: Connection,
    scope: Scope,
    feature: str | None = None,
    verdict: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest runs first, in the reader's scope."""
    if not 1 <= limit <= MAX_PAGE:
        raise QueryError("limit", f"must be between 1 and {MAX_PAGE}")
    t = gate_runs.c
    query = select(gate_runs).where(*scope.where(gate_runs))
    if feature is not None:
        query = query.where(t.feature == feature)
    if verdict is not None:
        query = query.where(t.verdict == verdict)
    query = query.order_by(t.ts.desc(), t.run_id.desc()).limit(limit)
    return [
        {
            "run_id": row.run_id,
            "ts": _iso(row.ts),
            "feature": row.feature,
            "team": row.team,
            "baseline": row.baseline,
            "candidate": row.candidate,
            "verdict": row.verdict,
            "exit_code": row.exit_code,
            "ran_by": row.ran_by,
            "document": row.document,
        }
        for row in conn.execute(query)
    ]
