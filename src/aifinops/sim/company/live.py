"""The synthetic company's calls as live HTTP requests through the gateway.

Each canonical event row becomes the request that would have produced it: the same
route, model, attribution headers and ``max_tokens``, a system prompt of the event's
system size (with ``cache_control`` where the event used the prompt cache), a user
message for the rest of its input, and the simulator's ``x-sim-output-tokens`` header
so the reply has the event's output size. Content is filler text: the simulator counts
4 bytes of UTF-8 a token. Pure: building requests does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Live calls are capped at this many input tokens so a demo stays light on the machine.
MAX_LIVE_INPUT_TOKENS = 12_000

_HEADERS = (
    ("feature", "x-aifinops-feature"),
    ("customer_id", "x-aifinops-customer"),
    ("prompt_version", "x-aifinops-prompt-version"),
    ("unit_id", "x-aifinops-unit"),
)


@dataclass(frozen=True, slots=True)
class LiveCall:
    team: str
    provider: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def filler(tokens: int, seed: str) -> str:
    """About ``tokens`` tokens (4 bytes each) of text that starts with ``seed``."""
    if tokens <= 0:
        return seed
    text = f"{seed} " + "lorem ipsum dolor sit amet " * (tokens * 4 // 27 + 1)
    return text[: max(tokens * 4, len(seed))]


def _sizes(row: Mapping[str, Any]) -> tuple[int, int]:
    cached = int(row.get("cache_read_tokens") or 0) + int(row.get("cache_write_5m_tokens") or 0)
    cached += int(row.get("cache_write_1h_tokens") or 0)
    total = min(int(row.get("input_tokens") or 0) + cached, MAX_LIVE_INPUT_TOKENS)
    system = min(int(row.get("system_tokens") or 0), total)
    return system, max(total - system, 1)


def _anthropic_body(row: Mapping[str, Any], system: int, user: int) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": filler(system, str(row["system_hash"]))}
    if row.get("cache_read_tokens") or row.get("cache_write_5m_tokens"):
        block["cache_control"] = {"type": "ephemeral"}
    elif row.get("cache_write_1h_tokens"):
        block["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    body: dict[str, Any] = {
        "model": row["model"],
        "max_tokens": int(row.get("max_tokens") or 1024),
        "messages": [{"role": "user", "content": filler(user, str(row["unit_id"]))}],
    }
    if system:
        body["system"] = [block]
    return body


def _openai_body(row: Mapping[str, Any], system: int, user: int) -> dict[str, Any]:
    if row["endpoint"] == "/v1/embeddings":
        return {"model": row["model"], "input": filler(system + user, str(row["unit_id"]))}
    messages = [{"role": "user", "content": filler(user, str(row["unit_id"]))}]
    if system:
        messages.insert(0, {"role": "system", "content": filler(system, str(row["system_hash"]))})
    body: dict[str, Any] = {"model": row["model"], "messages": messages}
    if row.get("max_tokens") is not None:
        body["max_completion_tokens"] = int(row["max_tokens"])
    return body


def call_for(row: Mapping[str, Any]) -> LiveCall | None:
    """The live request of a successful canonical event row (None for errors)."""
    if (row.get("status") or 200) >= 400 or row.get("provider") not in ("openai", "anthropic"):
        return None
    system, user = _sizes(row)
    headers = {name: str(row[key]) for key, name in _HEADERS if row.get(key)}
    headers["x-sim-output-tokens"] = str(int(row.get("output_tokens") or 0))
    if row["provider"] == "anthropic":
        return LiveCall(
            team=str(row["team"]),
            provider="anthropic",
            path="/anthropic/v1/messages",
            headers={**headers, "anthropic-version": "2023-06-01"},
            body=_anthropic_body(row, system, user),
        )
    return LiveCall(
        team=str(row["team"]),
        provider="openai",
        path=f"/openai{row['endpoint']}",
        headers=headers,
        body=_openai_body(row, system, user),
    )
