"""Sending replies over raw ASGI: paced streams, and the transport-level faults.

- ``reset``: the response starts and part of the body goes out, then the app returns
  without finishing it; the server closes the connection, which the client sees as a
  connection error.
- ``truncated-stream``: the stream ends cleanly halfway through its content, before
  the finish and usage events.
- ``malformed-sse``: halfway through, an event whose data is not valid JSON, then the
  stream ends.
- ``timeout``: the request hangs (see `hang`) until the client gives up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aifinops.sim.clock import Clock
from aifinops.sim.latency import Timing
from aifinops.sim.reply import Reply, dumps

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[str, str]]

#: Named, so Anthropic's SDK (which skips unnamed events) parses it too.
MALFORMED_EVENT = b'event: message\ndata: {"id": "sim-malformed", "delta": {"text": "\n\n'
JSON_TYPE = ("content-type", "application/json")
SSE_HEADERS: Headers = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
]


def _raw(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def send_json(send: Send, status: int, headers: Headers, body: bytes) -> None:
    all_headers = [JSON_TYPE, ("content-length", str(len(body))), *headers]
    await send({"type": "http.response.start", "status": status, "headers": _raw(all_headers)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def hang(receive: Receive, clock: Clock, seconds: float) -> bool:
    """Wait ``seconds`` or until the client disconnects; True if it disconnected.

    Call only after the request body has been read.
    """
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    done, pending = await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return watcher in done


async def send_reply(
    send: Send,
    reply: Reply,
    headers: Headers,
    timing: Timing,
    clock: Clock,
    fault: str | None,
) -> None:
    """Send a handler's reply with its latency, applying a transport-level fault."""
    if reply.body is not None:
        if timing.first_s or timing.per_token_s:
            await clock.sleep(timing.total(reply.charge.output_tokens))
        body = dumps(reply.body)
        if fault != "reset":
            await send_json(send, 200, headers, body)
            return
        all_headers = [JSON_TYPE, ("content-length", str(len(body))), *headers]
        await send({"type": "http.response.start", "status": 200, "headers": _raw(all_headers)})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": _raw(SSE_HEADERS + headers)}
    )
    events = reply.events
    if fault in ("reset", "truncated-stream", "malformed-sse"):
        events = events[: max(1, reply.tail // 2)]
    if timing.first_s == 0 and timing.per_token_s == 0:
        joined = b"".join(e.data for e in events)
        await send({"type": "http.response.body", "body": joined, "more_body": True})
    else:
        started = False
        for position, event in enumerate(events):
            delay = event.tokens * timing.per_token_s
            if not started and (event.tokens or position >= reply.tail):
                started, delay = True, timing.first_s
            if delay > 0:
                await clock.sleep(delay)
            await send({"type": "http.response.body", "body": event.data, "more_body": True})
    if fault == "malformed-sse":
        await send({"type": "http.response.body", "body": MALFORMED_EVENT, "more_body": True})
    if fault == "reset":
        return
    await send({"type": "http.response.body", "body": b"", "more_body": False})
