"""A TCP relay the test controls, between a gateway and its PostgreSQL: `cut` severs
every connection and holds new ones unanswered (a database host that went away), and
`restore` forwards again. Runs its own event loop in a thread of the test process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TcpRelay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cut_active = False
        self.held = 0
        self.accepted = 0  # connections made to the relay
        self.closed = 0  # of which ended (by either side)
        #: Send the end of a chunked response body (``0\r\n\r\n``) in a segment of its
        #: own, a moment after the data before it, as a real network may.
        self.split_body_end = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="tcp-relay", daemon=True)
        self._server: asyncio.Server | None = None

    # --- control (from the test's thread) ------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def cut(self) -> None:
        """Sever every connection; from now on connections are accepted and left hanging."""
        asyncio.run_coroutine_threadsafe(self._set(cut=True), self._loop).result(10)

    def restore(self) -> None:
        """Close the hanging connections and forward new ones again."""
        asyncio.run_coroutine_threadsafe(self._set(cut=False), self._loop).result(10)

    def close(self) -> None:
        async def shutdown() -> None:
            await self._drop_all()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    # --- the relay's own loop ------------------------------------------------------------

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _set(self, *, cut: bool) -> None:
        self.cut_active = cut
        await self._drop_all()

    async def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # an RST, as when the server's host is gone
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.accepted += 1
        if self.cut_active:
            self.held += 1  # accepted, never answered: the client's connect_timeout decides
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer),
            self._pipe(up_reader, writer, downstream=True),
            return_exceptions=True,
        )
        self.closed += 1

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, downstream: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if self.cut_active:
                    break
                end = b"\r\n0\r\n\r\n"
                if downstream and self.split_body_end and data.endswith(end) and data != end:
                    writer.write(data[: -len(end) + 2])
                    await writer.drain()
                    await asyncio.sleep(0.02)
                    data = end[2:]
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
            self._writers.discard(writer)


@contextmanager
def tcp_relay(host: str, port: int) -> Iterator[TcpRelay]:
    relay = TcpRelay(host, port)
    relay.start()
    try:
        yield relay
    finally:
        relay.close()
