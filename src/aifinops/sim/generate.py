"""What the simulated model says: deterministic text of an exact token length.

A reply is a run of three-letter words drawn from a SHAKE-128 stream of the prompt's
hash, so the same prompt always gets the same reply. Each word and its following
space (or the final full stop) is 4 bytes, so a reply of *n* words is exactly *n*
tokens under the simulator's counting rule (`aifinops.sim.tokens`).

The *natural* length of a reply -- what the model would say with no token limit -- is
16 to 200 tokens, derived from the prompt hash, unless the simulator's
``output_tokens`` setting or the request's ``x-sim-output-tokens`` header fixes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aifinops.sim.tokens import count_tokens

WORDS: tuple[str, ...] = (
    "the", "and", "for", "you", "are", "not", "but", "all", "can", "our", "use", "one",
    "new", "any", "how", "may", "get", "see", "way", "who", "its", "now", "two", "set",
    "run", "add", "end", "top", "low", "key", "job", "fee", "tax", "net", "sum", "pay",
    "buy", "due", "per", "max", "min", "day", "map", "log", "row", "bid", "aim", "ask",
    "cut", "fix", "mix", "own", "put", "say", "try", "why", "yes", "far", "few", "old",
    "big", "sea", "hot", "raw",
)  # fmt: skip
MIN_NATURAL_TOKENS = 16
NATURAL_SPREAD = 185

#: Reasoning (thinking) tokens a reasoning model spends at each effort level.
EFFORT_REASONING_TOKENS: Mapping[str, int] = MappingProxyType(
    {"none": 0, "minimal": 16, "low": 128, "medium": 384, "high": 1024, "xhigh": 2048, "max": 4096}
)


def _stream(digest: bytes, salt: int, n: int) -> bytes:
    """``n`` pseudo-random bytes determined by the digest and the salt."""
    return hashlib.shake_128(digest + salt.to_bytes(8, "big")).digest(n)


def natural_length(digest: bytes, fixed: int | None) -> int:
    """Tokens the model would say if nothing stopped it."""
    if fixed is not None:
        return fixed
    return MIN_NATURAL_TOKENS + int.from_bytes(digest[:4], "big") % NATURAL_SPREAD


def reply_text(digest: bytes, tokens: int, salt: int = 0, *, cut: int | None = None) -> str:
    """Text of exactly ``tokens`` tokens (empty for 0).

    With ``cut``, only the first ``cut`` words of that text: what a reply stopped by a
    token limit says (no closing full stop), still exactly ``cut`` tokens.
    """
    if tokens <= 0 or cut == 0:
        return ""
    words = [WORDS[b & 63] for b in _stream(digest, salt, tokens)]  # 64 words: 6 bits each
    words[0] = words[0].capitalize()
    if cut is not None and cut < tokens:
        return " ".join(words[:cut])
    return " ".join(words) + "."


def apply_stop(text: str, stops: Iterable[str]) -> tuple[str, str | None]:
    """Cut ``text`` before the earliest stop sequence; return the text and the sequence."""
    best: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if at >= 0 and (best is None or at < best[0]):
            best = (at, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def pieces(text: str) -> list[str]:
    """Stream chunks of a reply, about one token each; they join back to ``text``."""
    parts = text.split(" ")
    out = [parts[0]] if parts[0] else []
    out.extend(" " + p for p in parts[1:])
    return out


def fragments(text: str, size: int = 8) -> list[str]:
    """Tool-call arguments in small fragments, as the APIs stream them."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def sample_arguments(schema: Any, depth: int = 0) -> Any:
    """A minimal value that fits a JSON schema (required properties only)."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        names = required if isinstance(required, list) else []
        return {n: sample_arguments(props.get(n), depth + 1) for n in names if isinstance(n, str)}
    if kind == "array":
        items = schema.get("items")
        return [sample_arguments(items, depth + 1)] if isinstance(items, dict) else []
    simple: dict[str, Any] = {"string": "sim", "integer": 1, "number": 1, "boolean": True}
    return simple.get(str(kind))


@dataclass(frozen=True, slots=True)
class Plan:
    """The reply to one request: visible text and the tokens it costs."""

    text: str
    visible_tokens: int
    reasoning_tokens: int
    truncated: bool
    stop_sequence: str | None = None

    @property
    def output_tokens(self) -> int:
        return self.visible_tokens + self.reasoning_tokens


def plan_reply(
    digest: bytes,
    natural: int,
    reasoning: int,
    limit: int | None,
    stops: Iterable[str] = (),
    salt: int = 0,
) -> Plan:
    """Spend ``reasoning`` tokens, then say up to ``natural`` tokens within ``limit``.

    ``limit`` bounds reasoning and visible output together; the reply is ``truncated``
    when the limit, not the model, ended it.
    """
    if limit is not None and reasoning >= limit:
        return Plan("", 0, limit, truncated=limit < reasoning or natural > 0)
    budget = natural if limit is None else min(natural, limit - reasoning)
    text, stop = apply_stop(reply_text(digest, natural, salt, cut=budget), stops)
    visible = count_tokens(text)
    return Plan(text, visible, reasoning, stop is None and budget < natural, stop)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model makes because the request forced a tool."""

    name: str
    value: Any
    arguments: str
    output_tokens: int


def plan_tool_call(name: str, schema: Any, reasoning: int) -> ToolCall:
    value = sample_arguments(schema)
    arguments = json.dumps(value, separators=(",", ":"))
    return ToolCall(
        name, value, arguments, reasoning + count_tokens(name) + count_tokens(arguments)
    )
