"""Errors the gateway answers itself, in each provider's own shape.

The official SDKs raise their usual exception classes from the status code and read
the message from the body, so a refusal looks like one from the provider:

- OpenAI: ``{"error": {"message", "type", "param", "code"}}``;
- Anthropic: ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import orjson

#: status → (OpenAI error type, Anthropic error type)
_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    403: ("invalid_request_error", "permission_error"),
    404: ("invalid_request_error", "not_found_error"),
    405: ("invalid_request_error", "invalid_request_error"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_exceeded", "rate_limit_error"),
    500: ("server_error", "api_error"),
    502: ("server_error", "api_error"),
    503: ("server_error", "api_error"),
    504: ("server_error", "api_error"),
}


class Rejection(Exception):
    """A request the gateway refuses itself (it never reaches the provider).

    ``reason`` is a short machine word (``missing_key``, ``invalid_header`` …) kept in
    the rejections table and metrics; ``field`` names the header or body field at fault.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        field: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.field = field
        self.headers = headers or []  # e.g. retry-after on a 429
        self.api_key_id: str | None = None  # set once the key is known
        self.team: str | None = None


def error_body(provider: str | None, status: int, message: str, code: str | None = None) -> bytes:
    """The JSON error body of ``status`` in ``provider``'s shape (``None``: a plain one)."""
    openai_type, anthropic_type = _TYPES.get(status, ("invalid_request_error", "api_error"))
    if provider == "anthropic":
        return orjson.dumps(
            {"type": "error", "error": {"type": anthropic_type, "message": message}}
        )
    if provider == "openai":
        return orjson.dumps(
            {"error": {"message": message, "type": openai_type, "param": None, "code": code}}
        )
    return orjson.dumps({"error": {"code": code or openai_type, "message": message, "field": None}})


def stream_error_event(provider: str, message: str) -> bytes:
    """An SSE event that makes the SDK raise mid-stream (the stream cannot change status)."""
    if provider == "anthropic":
        data = orjson.dumps({"type": "error", "error": {"type": "api_error", "message": message}})
        return b"event: error\ndata: " + data + b"\n\n"
    data = orjson.dumps({"error": {"message": message, "type": "server_error", "code": None}})
    return b"data: " + data + b"\n\n"
