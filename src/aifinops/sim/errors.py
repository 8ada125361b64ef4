"""Errors in each provider's own shape, so the official SDKs raise their usual exceptions.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``.
Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class SimError(Exception):
    """A request the simulator answers with an error, already in provider terms.

    ``kind`` is the provider's error type (``invalid_request_error``,
    ``not_found_error``, ``rate_limit_error``, ...); ``param`` and ``code`` are only
    rendered for OpenAI.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


def openai_invalid(message: str, param: str | None, code: str | None = None) -> SimError:
    return SimError(400, "invalid_request_error", message, param=param, code=code)


def anthropic_invalid(message: str) -> SimError:
    return SimError(400, "invalid_request_error", message)


def error_body(provider: str, error: SimError, request_id: str) -> dict[str, Any]:
    if provider == "anthropic":
        return {
            "type": "error",
            "error": {"type": error.kind, "message": error.message},
            "request_id": request_id,
        }
    return {
        "error": {
            "message": error.message,
            "type": error.kind,
            "param": error.param,
            "code": error.code,
        }
    }


def encode_error(provider: str, error: SimError, request_id: str) -> bytes:
    return json.dumps(error_body(provider, error, request_id)).encode()
