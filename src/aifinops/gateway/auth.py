"""Who is calling: the gateway key from the provider's auth header (or ``x-aifinops-key``
in pass-through mode), checked against an in-memory cache of active keys.

The cache is refreshed from the ledger in the background, so a slow database never
delays a request; a revoked key stops working within one refresh interval.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine

from aifinops.gateway.errors import Rejection
from aifinops.gateway.keys import KeyRecord, key_id_of, load_active_keys, matches

log = logging.getLogger("aifinops.gateway")

REFRESH_SECONDS = 2.0


def presented_key(headers: dict[str, str], provider: str, passthrough: bool) -> str | None:
    """The gateway key a request carries, where the contract puts it."""
    if passthrough:
        return headers.get("x-aifinops-key") or None
    if provider == "anthropic" and headers.get("x-api-key"):
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


class KeyCache:
    """Active gateway keys by id, refreshed from the ledger off the request path."""

    def __init__(self, engine: Engine, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._engine = engine
        self._keys: dict[str, KeyRecord] = {}
        self._refresh_seconds = refresh_seconds
        self._task: asyncio.Task[None] | None = None
        self.loaded = False

    async def refresh(self) -> None:
        try:
            self._keys = await asyncio.to_thread(load_active_keys, self._engine)
            self.loaded = True
        except Exception as exc:  # the ledger is down: keep the keys we know
            log.warning("cannot refresh gateway keys from the ledger: %s", exc)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="aifinops-key-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self.refresh()

    def authenticate(self, key: str | None, header: str) -> KeyRecord:
        """The record of ``key``, or a 401 `Rejection` naming ``header``."""
        if not key:
            raise Rejection(
                401,
                "missing_key",
                f"no gateway key: send it in {header} (create one with `aifinops keys create`)",
                header,
            )
        key_id = key_id_of(key)
        record = self._keys.get(key_id) if key_id else None
        if record is None or not matches(record, key):
            raise Rejection(
                401,
                "invalid_key",
                f"invalid gateway key in {header} (unknown or revoked; "
                "create one with `aifinops keys create`)",
                header,
            )
        return record
