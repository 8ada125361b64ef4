"""The request body: validated enough to attribute and price it, changed only on purpose.

The gateway forwards the client's bytes untouched unless it injects something:
``stream_options.include_usage`` on an OpenAI chat stream that did not ask for it (so
the stream reports usage), and the end customer in the provider's per-user field
(OpenAI ``safety_identifier``, Anthropic ``metadata.user_id``), hashed by default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from aifinops.gateway.errors import Rejection
from aifinops.gateway.routes import Route
from aifinops.providers import inject_anthropic_attribution, inject_openai_attribution
from aifinops.settings import GatewaySettings


@dataclass(frozen=True, slots=True)
class Prepared:
    body: dict[str, Any]
    model: str
    stream: bool
    upstream_body: bytes
    strip_usage_chunk: bool  # the gateway asked for include_usage: hide that chunk


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400 naming the problem."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejection(
            400, "invalid_json", f"the request body is not valid JSON ({exc})", "body"
        ) from None
    if not isinstance(body, dict):
        raise Rejection(400, "invalid_json", "the request body must be a JSON object", "body")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise Rejection(400, "invalid_body", "model: is required (a non-empty string)", "model")
    return body


def customer_for_provider(customer: str | None, settings: GatewaySettings) -> str | None:
    """What the provider's per-user field gets for ``customer`` (None: nothing)."""
    if customer is None or settings.customer_to_provider == "off":
        return None
    if settings.customer_to_provider == "plain":
        return customer
    salted = (settings.customer_hash_salt + customer).encode("utf-8")
    return "c_" + hashlib.sha256(salted).hexdigest()[:40]


def prepare(
    raw: bytes,
    body: dict[str, Any],
    route: Route,
    customer: str | None,
    settings: GatewaySettings,
    *,
    changed_already: bool = False,
) -> Prepared:
    """The body to forward: ``raw`` itself unless something is injected (or
    ``changed_already``: routing or a guardrail changed ``body``, so it is serialised)."""
    stream = body.get("stream") is True
    changed = body
    strip = False
    if route.kind == "chat" and stream:
        options = body.get("stream_options")
        if not (isinstance(options, dict) and options.get("include_usage") is True):
            merged = dict(options) if isinstance(options, dict) else {}
            merged["include_usage"] = True
            changed = {**changed, "stream_options": merged}
            strip = True
    user = customer_for_provider(customer, settings)
    if user is not None:
        if route.kind in ("chat", "responses"):
            changed = inject_openai_attribution(changed, user)
        elif route.kind == "messages":
            changed = inject_anthropic_attribution(changed, user)
    upstream = raw if changed is body and not changed_already else orjson.dumps(changed)
    return Prepared(body, body["model"], stream, upstream, strip)
