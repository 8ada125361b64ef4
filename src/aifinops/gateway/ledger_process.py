"""The recorder's ledger writer in a process of its own.

Inserting a batch (rows, four rollup upserts, the commit) costs about 0.3 ms of CPU per
event. In a thread of the gateway process that CPU is spent under the GIL the event loop
needs, so a batch being written delays the requests in flight (by up to the GIL's switch
interval): the gateway's tail latency. `WriterProcess` moves it into a child process
(``python -m aifinops.gateway.ledger_process``) that keeps one ledger connection: the
gateway sends it each batch over a pipe and awaits its one-line answer on the event loop.

The protocol, on the child's stdin and stdout:

- first, one frame with the configuration (``{"url": …, "search_path": …}``), then one
  frame per batch: ``{"sync": [spool paths to fsync], "rows": […], "rejections": […]}``.
  A frame is a 4-byte big-endian length and that many bytes of JSON.
- the child answers each batch with ``ok`` or ``error <first line of the error>``.

The child fsyncs the spool segments named (an fsync through any descriptor flushes the
file), then writes the batch in one transaction. It exits when its stdin closes (the
gateway stopped, or died: nothing outlives it) and ignores SIGINT/SIGTERM sent to the
process group, so a Ctrl-C lets the gateway flush through it first. When the child dies
or answers garbage, the batch fails like a database error: the recorder keeps the
events, backs off and retries, and the next write starts a new child. Ledger writes are
idempotent on ``event_id``, so a batch committed just before the child died is not
counted twice when it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import struct
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from aifinops.ledger.column_batch import write_rows_in_columns
from aifinops.ledger.db import create_ledger_engine
from aifinops.ledger.schema import gateway_rejections
from aifinops.settings_gateway import SECRET_KEYS
from aifinops.usage import parse_ts

log = logging.getLogger("aifinops.gateway")

_LENGTH = struct.Struct(">I")
#: What the child keeps of the gateway's environment: what Python, the C library and the
#: database drivers read (libpq's ``PG*`` variables, so it connects as the gateway
#: does), nothing else. Provider keys, the metrics token, the customer-hash salt, webhook
#: URLs, the database URL (it comes over the pipe), and a key kept in a variable of any
#: other name (``openai_api_key_env: OPENAI_KEY_PROD``) stay in the gateway.
_KEPT_VARIABLES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"}
)
_KEPT_PREFIXES = ("LC_", "PYTHON", "PG", "SSL_CERT_", "SQLITE_")
#: Never kept, even under a kept prefix.
_SECRET_VARIABLES = frozenset({*SECRET_KEYS.values(), "AIFINOPS_DATABASE_URL"})
#: How long the gateway waits for the child to exit once its stdin is closed.
_EXIT_WAIT_SECONDS = 5.0


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of the gateway's environment the child needs (see `_KEPT_VARIABLES`)."""
    return {
        k: v
        for k, v in env.items()
        if (k in _KEPT_VARIABLES or k.startswith(_KEPT_PREFIXES)) and k not in _SECRET_VARIABLES
    }


class WriterProcessError(RuntimeError):
    """The child is gone or answered something else than ``ok``/``error …``."""


class WriterProcess:
    """The gateway's side: start the child, send it batches, await its answers."""

    def __init__(self, url: str, search_path: str | None = None) -> None:
        self._config = orjson.dumps({"url": url, "search_path": search_path})
        self._proc: asyncio.subprocess.Process | None = None
        self.started = 0
        #: Called after each start (the recorder counts them in /metrics).
        self.on_start: Callable[[], object] | None = None

    async def start(self) -> None:
        """Start the child (it imports the ledger code while the gateway goes on)."""
        if self._proc is not None and self._proc.returncode is None:
            return
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "aifinops.gateway.ledger_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_environment(os.environ),
        )
        self.started += 1
        if self.on_start is not None:
            self.on_start()
        self._send(self._config)

    def _send(self, payload: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(_LENGTH.pack(len(payload)) + payload)

    async def write(
        self, sync: list[str], rows: Sequence[bytes], rejections: list[dict[str, Any]]
    ) -> None:
        """fsync ``sync`` and write one batch in the child; raises on any failure.

        ``rows`` are the events' rows already as JSON (the recorder made each one when
        the call finished, for its spool): the batch's frame joins them instead of
        serialising a thousand rows at once on the event loop (1.5-3 ms, a stall every
        requests waiting at that moment paid)."""
        await self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            self._send(batch_frame(sync, rows, rejections))
            await proc.stdin.drain()
            answer = await proc.stdout.readline()
        except (ConnectionError, OSError) as exc:
            await self._discard()
            raise WriterProcessError(f"the ledger writer process is gone ({exc})") from exc
        except asyncio.CancelledError:
            await self._discard()  # the exchange is cut in the middle: start afresh
            raise
        if answer == b"ok\n":
            return
        if answer.startswith(b"error "):
            raise WriterProcessError(answer[6:].decode(errors="replace").strip())
        await self._discard()
        if not answer:
            raise WriterProcessError(
                f"the ledger writer process exited (code {proc.returncode}); restarting it"
            )
        raise WriterProcessError("the ledger writer process answered garbage; restarting it")

    async def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def close(self) -> None:
        """Close the child's stdin and wait for it to exit (killed if it does not)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), _EXIT_WAIT_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid


# --- the child ------------------------------------------------------------------------


def batch_frame(sync: list[str], rows: Sequence[bytes], rejections: list[dict[str, Any]]) -> bytes:
    """The JSON frame of one batch: ``{"sync": …, "rows": […], "rejections": …}``, the
    rows spliced in as they are (each one a JSON object)."""
    return b'{"sync":%b,"rows":[%b],"rejections":%b}' % (
        orjson.dumps(sync),
        b",".join(rows),
        orjson.dumps(rejections),
    )


def _read_frame(stream: Any) -> bytes | None:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return bytes(payload)


def _fsync(paths: list[str]) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # committed and deleted meanwhile: nothing left to make durable
        except OSError as exc:
            log.warning("cannot open the spool %s to fsync it: %s", path, exc)
            continue
        try:
            os.fsync(fd)
        except OSError as exc:
            log.warning("cannot fsync the spool %s: %s", path, exc)
        finally:
            os.close(fd)


class Pacer:
    """Spreads a batch's CPU thin: after each `slice_seconds` of this thread's CPU it
    sleeps `pause_seconds`.

    A batch of 1,000 gateway events costs the child ≈ 13-15 ms of CPU. In one burst, the
    calls in flight meanwhile run slower (on 2 vCPUs the gateway, the upstream and the
    child then compete), and ≈ 2 % of the calls at one client overlap a burst: the p99.
    In slices of 0.5 ms with 1 ms pauses the same CPU touches each call by at most a
    slice (docs/benchmarks.md, "The writer child paces its batches"). The ledger's lock
    is held ≈ 3× longer (≈ 45 ms a batch of 1,000), well inside the busy timeout, and
    the child still writes ≈ 20,000 events a second, several times what a gateway serves.
    """

    def __init__(self, slice_seconds: float = 0.0005, pause_seconds: float = 0.001) -> None:
        self.slice_seconds = slice_seconds
        self.pause_seconds = pause_seconds
        self._mark = time.thread_time()

    def __call__(self) -> int:
        """Pause if this slice is used up; 0 (SQLite's progress handler: go on)."""
        now = time.thread_time()
        if now - self._mark >= self.slice_seconds:
            time.sleep(self.pause_seconds)
            self._mark = time.thread_time()
        return 0


#: SQLite virtual-machine instructions between two calls of the pacer (≈ 10-20 µs).
PACE_EVERY = 1_000


def pace_sqlite(engine: Engine, pacer: Pacer) -> None:
    """Call ``pacer`` from inside SQLite's statements on ``engine``'s connections."""
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's work is the server's, not this process's

    @event.listens_for(engine, "connect")
    def _install(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_progress_handler(pacer, PACE_EVERY)


def _write(
    engine: Engine,
    rows: list[dict[str, Any]],
    rejections: list[dict[str, Any]],
    pacer: Callable[[], object] = lambda: 0,
) -> None:
    """One batch in one transaction (``ts`` arrives as ISO text)."""
    for item in (*rows, *rejections):
        item["ts"] = parse_ts(item["ts"])
    pacer()
    with engine.begin() as conn:
        if rows:
            write_rows_in_columns(conn, rows)
        if rejections:
            conn.execute(insert(gateway_rejections), rejections)


def _answer(
    engine: Engine, batch: dict[str, Any], pacer: Callable[[], object] = lambda: 0
) -> bytes:
    _fsync(batch["sync"])
    if not batch["rows"] and not batch["rejections"]:
        return b"ok\n"
    try:
        _write(engine, batch["rows"], batch["rejections"], pacer)
    except Exception as exc:  # the ledger is slow or down: the gateway retries
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return b"error " + text[:500].encode(errors="replace") + b"\n"
    return b"ok\n"


def main() -> int:
    """Serve batches from stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config_frame = _read_frame(stdin)
    if config_frame is None:
        return 0
    config = orjson.loads(config_frame)
    engine = create_ledger_engine(config["url"], search_path=config.get("search_path"))
    pacer = Pacer()
    pace_sqlite(engine, pacer)
    try:
        while (frame := _read_frame(stdin)) is not None:
            stdout.write(_answer(engine, orjson.loads(frame), pacer))
            stdout.flush()
    except BrokenPipeError:
        pass  # the gateway is gone
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
