"""Where budgets come from: the config file (read-only at run time) and the ``budgets``
table (made with ``aifinops budget set`` or ``PUT /api/v1/budgets/{id}``).

An id in both is an error naming it, as DESIGN.md's contract says. `put_budget` and
`delete_budget` are the only writers of the table; each change is audited in the same
transaction. `BudgetBook` is what a running gateway holds: the current budgets, reloaded
with one SELECT on `BudgetBook.refresh`, so a change reaches it without a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from aifinops.governance.budgets import SCOPE_COLUMNS, Budget, BudgetError, parse_budget
from aifinops.ledger.schema_governance import budgets as budgets_table

log = logging.getLogger("aifinops.governance")


class BudgetConflictError(ValueError):
    """A budget id is both in the config file and in the database, or a write through
    the CLI or API aims at a config-file id."""


def _source(updated_by: str | None) -> str:
    """``cli`` for a budget last set with ``aifinops budget set``, else ``api``."""
    return "cli" if (updated_by or "").startswith("cli:") else "api"


def _normal(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A definition as `parse_budget` takes it: without ``source`` (the store decides it)
    and with ``downgrade: {}`` (what `Budget.as_dict` shows for none) left out, so that
    a listed definition can be set again as it is."""
    out = {k: v for k, v in raw.items() if k != "source"}
    if out.get("downgrade") == {}:
        del out["downgrade"]
    return out


def _parse_rows(rows: Sequence[Any]) -> list[Budget]:
    out = []
    for row in rows:
        definition = _normal(row.definition)
        definition.pop("id", None)
        try:
            out.append(
                parse_budget(
                    {**definition, "id": row.budget_id}, row.budget_id, _source(row.updated_by)
                )
            )
        except BudgetError:
            continue  # validated when written; a row that no longer parses is skipped
    return out


def stored_budgets(conn: Connection) -> list[Budget]:
    rows = conn.execute(select(budgets_table).order_by(budgets_table.c.budget_id))
    return _parse_rows(list(rows))


def load_budgets(conn: Connection, config: Sequence[Budget]) -> tuple[Budget, ...]:
    """Config budgets, then stored ones; an id in both raises `BudgetConflictError`."""
    stored = stored_budgets(conn)
    ids = {b.id for b in config}
    both = sorted(b.id for b in stored if b.id in ids)
    if both:
        raise BudgetConflictError(_conflict_message(both[0]))
    return (*config, *stored)


def _conflict_message(budget_id: str) -> str:
    return (
        f"budgets: {budget_id!r} is in the config file and was also set at run time; "
        "delete one of them (aifinops budget delete, or edit the file)"
    )


def _audit(
    conn: Connection,
    actor: str,
    via: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    # Imported here, not at the top: the aifinops.api package imports the API app, whose
    # budget routes import this module (a cycle), and the gateway need not load FastAPI.
    from aifinops.api.audit import record_audit  # noqa: PLC0415

    record_audit(
        conn, actor=actor, via=via, action=action, target=target, before=before, after=after
    )


def _refuse_config(budget_id: str, config: Sequence[Budget], verb: str) -> None:
    if any(b.id == budget_id for b in config):
        raise BudgetConflictError(
            f"budget {budget_id!r} is defined in the config file, which is read-only at run "
            f"time; {verb} it there, or give the run-time budget another id"
        )


def get_stored(conn: Connection, budget_id: str) -> Budget | None:
    """The run-time budget ``budget_id``, or None."""
    rows = conn.execute(select(budgets_table).where(budgets_table.c.budget_id == budget_id))
    found = _parse_rows(list(rows))
    return found[0] if found else None


def put_budget(
    conn: Connection,
    raw: Mapping[str, Any],
    actor: str,
    via: str,
    *,
    config: Sequence[Budget],
) -> Budget:
    """Create or replace a run-time budget (the whole definition) and audit the change.

    ``raw`` holds the definition fields of `aifinops.governance.budgets.parse_budget`
    (``source`` is ignored); a bad one raises `BudgetError` whose ``field`` is
    ``budget.<field>``. An id in ``config`` (the config file's budgets) raises
    `BudgetConflictError`. ``via`` is ``api`` or ``cli``. Runs in the caller's
    transaction: the row and its audit entry are committed together.
    """
    budget = parse_budget(_normal(raw), "budget", via)
    _refuse_config(budget.id, config, "change")
    before = get_stored(conn, budget.id)
    definition = {k: v for k, v in budget.as_dict().items() if k != "source"}
    conn.execute(delete(budgets_table).where(budgets_table.c.budget_id == budget.id))
    conn.execute(
        budgets_table.insert().values(
            budget_id=budget.id,
            definition=definition,
            updated_at=datetime.now(UTC),
            updated_by=actor[:200],
        )
    )
    after = budget.as_dict()
    _audit(
        conn,
        actor,
        via,
        "budgets.put",
        budget.id,
        None if before is None else before.as_dict(),
        after,
    )
    return budget


def delete_budget(
    conn: Connection, budget_id: str, actor: str, via: str, *, config: Sequence[Budget]
) -> bool:
    """Delete a run-time budget (audited); False when there is none with that id.

    A config-file id raises `BudgetConflictError` (remove it from the file instead).
    """
    _refuse_config(budget_id, config, "remove")
    before = get_stored(conn, budget_id)
    result = conn.execute(delete(budgets_table).where(budgets_table.c.budget_id == budget_id))
    if not result.rowcount:
        return False
    _audit(
        conn,
        actor,
        via,
        "budgets.delete",
        budget_id,
        None if before is None else before.as_dict(),
        None,
    )
    return True


def _digest(config: Sequence[Budget], rows: Sequence[Any]) -> str:
    payload = [
        [b.as_dict() for b in config],
        [[r.budget_id, r.definition, _source(r.updated_by)] for r in rows],
    ]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_Index = dict[tuple[str, str | None], tuple[tuple[int, Budget], ...]]


def _index(budgets: Sequence[Budget]) -> _Index:
    """(scope column, name) → (position, budget) pairs; ("", None) for org budgets."""
    out: dict[tuple[str, str | None], list[tuple[int, Budget]]] = {}
    for position, b in enumerate(budgets):
        column = SCOPE_COLUMNS[b.scope]
        key = ("", None) if column is None else (column, b.name)
        out.setdefault(key, []).append((position, b))
    return {k: tuple(v) for k, v in out.items()}


class BudgetBook:
    """The budgets a running process enforces: the config file's plus the run-time ones.

    ``budgets`` is an immutable tuple replaced as a whole (with its index), so readers on
    the event loop never see a half-made set while `refresh` runs in a thread. `refresh`
    is one SELECT of the ``budgets`` table; it re-parses only when the rows changed and
    returns whether they did. ``version`` is a digest of every definition (the same in
    every process holding the same budgets); ``generation`` counts the changes seen.

    A stored budget whose id is also in the config file (possible only when the file was
    edited after the budget was set) is not loaded: the file's entry applies, the error
    is logged and ``conflicts`` names the id; ``refresh(strict=True)`` raises instead,
    which makes it a start-up error as DESIGN.md's contract says.
    """

    def __init__(self, engine: Engine, config: Sequence[Budget] = ()) -> None:
        self._engine = engine
        self._config = tuple(config)
        self._lock = threading.Lock()
        self._state: tuple[tuple[Budget, ...], _Index] = (self._config, _index(self._config))
        self.version = _digest(self._config, [])
        self.generation = 0
        self.conflicts: tuple[str, ...] = ()
        self.refreshed_at: datetime | None = None

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return self._state[0]

    def refresh(self, *, strict: bool = False) -> bool:
        """Reload the run-time budgets; True when anything changed since the last call.

        Blocking (one SELECT): from async code, run it in a thread
        (``await asyncio.to_thread(book.refresh)``). Database errors propagate and leave
        the book as it was. ``strict`` (for start-up): an id both in the config file and
        stored raises `BudgetConflictError` instead, and the book is left as it was.
        """
        with self._lock:
            with self._engine.connect() as conn:
                rows = list(conn.execute(select(budgets_table).order_by(budgets_table.c.budget_id)))
            self.refreshed_at = datetime.now(UTC)
            version = _digest(self._config, rows)
            if version == self.version:
                return False
            ids = {b.id for b in self._config}
            stored = _parse_rows(rows)
            conflicts = tuple(b.id for b in stored if b.id in ids)
            if conflicts and strict:
                raise BudgetConflictError(_conflict_message(conflicts[0]))
            if conflicts:
                log.error(
                    "budgets %s are in the config file and were also set at run time; the "
                    "config file's apply (delete the run-time ones with aifinops budget delete)",
                    ", ".join(conflicts),
                )
            budgets = (*self._config, *(b for b in stored if b.id not in ids))
            self._state = (budgets, _index(budgets))
            self.conflicts = conflicts
            self.version = version
            self.generation += 1
            return True

    def get(self, budget_id: str) -> Budget | None:
        return next((b for b in self.budgets if b.id == budget_id), None)

    def covering(self, attribution: Mapping[str, str | None]) -> tuple[Budget, ...]:
        """The budgets a call with this attribution (``team``, ``feature``,
        ``customer_id``, ``api_key_id``) counts against, in book order."""
        index = self._state[1]
        found = list(index.get(("", None), ()))
        for column in ("team", "feature", "customer_id", "api_key_id"):
            value = attribution.get(column)
            if value is not None:
                found.extend(index.get((column, value), ()))
        found.sort(key=lambda pair: pair[0])
        return tuple(b for _, b in found)
