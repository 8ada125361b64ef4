"""The provider routes of the contract and where each one goes upstream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    provider: str  # openai | anthropic
    endpoint: str  # as recorded in the ledger
    upstream_path: str  # appended to the provider's base URL
    kind: str  # chat | responses | embeddings | messages | count_tokens
    recorded: bool = True  # count_tokens is not a model call: forwarded, not recorded


ROUTES: dict[str, Route] = {
    r.path: r
    for r in (
        Route(
            "/openai/v1/chat/completions", "openai", "chat/completions", "/chat/completions", "chat"
        ),
        Route("/openai/v1/responses", "openai", "responses", "/responses", "responses"),
        Route("/openai/v1/embeddings", "openai", "embeddings", "/embeddings", "embeddings"),
        Route("/anthropic/v1/messages", "anthropic", "messages", "/v1/messages", "messages"),
        Route(
            "/anthropic/v1/messages/count_tokens",
            "anthropic",
            "messages/count_tokens",
            "/v1/messages/count_tokens",
            "count_tokens",
            recorded=False,
        ),
    )
}


def provider_of_path(path: str) -> str | None:
    """The provider whose error shape an unknown path under its prefix gets."""
    if path.startswith("/openai/"):
        return "openai"
    if path.startswith("/anthropic/"):
        return "anthropic"
    return None
