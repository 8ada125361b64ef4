"""Shape signals of a request for waste detection: sizes, hashes and counts, never content.

- ``max_tokens`` as sent (``max_completion_tokens``/``max_tokens``, ``max_output_tokens``);
- the system prompt's size estimate (4 bytes of UTF-8 a token) and SHA-256;
- the SHA-256 of the cacheable prefix: Anthropic, everything up to the last
  ``cache_control`` breakpoint (tools → system → messages); without one, and for
  OpenAI, the stable head of the prompt (tools and system/developer instructions);
- ``context_chunks``: documents and tool results in the prompt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

_CHUNK_BLOCKS = frozenset({"tool_result", "document", "search_result"})


@dataclass(frozen=True, slots=True)
class Shape:
    max_tokens: int | None = None
    system_tokens: int | None = None
    system_hash: str | None = None
    prefix_hash: str | None = None
    context_chunks: int | None = None


def estimate_tokens(n_bytes: int) -> int:
    return (n_bytes + 3) // 4


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def _system(text: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    data = text.encode("utf-8")
    return estimate_tokens(len(data)), _sha(data)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _openai_shape(body: Mapping[str, Any], messages: list[Any], head_extra: str) -> Shape:
    system_parts = [head_extra] if head_extra else []
    head: list[Any] = [body.get("tools")] if body.get("tools") else []
    if head_extra:
        head.append(head_extra)
    leading = True
    chunks = 0
    for m in messages:
        if not isinstance(m, Mapping):
            continue
        role = m.get("role")
        if role in ("system", "developer"):
            system_parts.append(_text_of(m.get("content")))
            if leading:
                head.append(m)
        else:
            leading = False
        if role in ("tool", "function") or m.get("type") == "function_call_output":
            chunks += 1
        for part in _list(m.get("content")):
            if isinstance(part, Mapping) and part.get("type") in ("input_file", "file"):
                chunks += 1
    tokens, digest = _system("\n".join(p for p in system_parts if p))
    return Shape(
        system_tokens=tokens,
        system_hash=digest,
        prefix_hash=_sha(_canonical(head)) if head else None,
        context_chunks=chunks,
    )


def _anthropic_blocks(body: Mapping[str, Any]) -> list[Any]:
    blocks: list[Any] = list(_list(body.get("tools")))
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append({"type": "text", "text": system})
    blocks.extend(_list(system))
    for m in _list(body.get("messages")):
        if not isinstance(m, Mapping):
            continue
        content = m.get("content")
        if isinstance(content, str):
            blocks.append({"role": m.get("role"), "text": content})
        else:
            blocks.extend(
                {"role": m.get("role"), **b} for b in _list(content) if isinstance(b, Mapping)
            )
    return blocks


def _anthropic_shape(body: Mapping[str, Any]) -> Shape:
    tokens, digest = _system(_text_of(body.get("system")))
    blocks = _anthropic_blocks(body)
    last = -1
    for i, block in enumerate(blocks):
        if isinstance(block, Mapping) and block.get("cache_control"):
            last = i
    if last < 0 and body.get("cache_control"):
        last = len(blocks) - 1
    n_head = len(_list(body.get("tools"))) + (1 if body.get("system") else 0)
    prefix = blocks[: last + 1] if last >= 0 else blocks[:n_head]
    chunks = 0
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") in _CHUNK_BLOCKS:
            chunks += 1
    return Shape(
        max_tokens=_int(body.get("max_tokens")),
        system_tokens=tokens,
        system_hash=digest,
        prefix_hash=_sha(_canonical(prefix)) if prefix else None,
        context_chunks=chunks,
    )


def request_shape(kind: str, body: Mapping[str, Any]) -> Shape:
    """The shape signals of a request body of route ``kind``."""
    if kind == "messages":
        return _anthropic_shape(body)
    if kind == "chat":
        shape = _openai_shape(body, _list(body.get("messages")), "")
        max_tokens = _int(body.get("max_completion_tokens"))
        if max_tokens is None:
            max_tokens = _int(body.get("max_tokens"))
        return Shape(max_tokens, *_rest(shape))
    if kind == "responses":
        raw_input = body.get("input")
        items = _list(raw_input)
        instructions = body.get("instructions")
        shape = _openai_shape(body, items, instructions if isinstance(instructions, str) else "")
        return Shape(_int(body.get("max_output_tokens")), *_rest(shape))
    return Shape()


def _rest(shape: Shape) -> tuple[int | None, str | None, str | None, int | None]:
    return shape.system_tokens, shape.system_hash, shape.prefix_hash, shape.context_chunks
