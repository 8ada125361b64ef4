"""Small pure-ASGI helpers: headers, bounded body reads, whole responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from aifinops.gateway.errors import Rejection

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

JSON_HEADERS: RawHeaders = [(b"content-type", b"application/json")]


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers, lower-cased names; a repeated header keeps its last value."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def read_body(receive: Receive, limit: int, declared: str | None) -> bytes:
    """The whole request body, or a 413 `Rejection` when it is larger than ``limit``.

    An oversize body is still read to its end (and dropped), so the client sees the
    413 instead of a connection reset while it is still sending.
    """
    too_large = Rejection(
        413,
        "body_too_large",
        f"request body is larger than the gateway's limit of {limit} bytes "
        "(AIFINOPS_MAX_BODY_BYTES)",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await drain(receive)
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client disconnected while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await drain(receive, message.get("more_body", False))
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def drain(receive: Receive, more: bool = True) -> None:
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)


async def send_response(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = JSON_HEADERS
) -> None:
    out = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body, "more_body": False})
