"""Render Anthropic Messages requests into canonical transcripts with cache breakpoints.

Order and rendering (the token rule is in `aifinops.sim.tokens`), each block ending a
lookback position:

1. each tool: ``<tool>{compact JSON without cache_control}\\n``;
2. ``speed``, then ``system`` (a string, or text blocks under one ``<system>`` header);
3. ``tool_choice``, ``thinking`` and ``output_config.effort`` as compact JSON (changing
   them invalidates the message cache, as on the real API);
4. each message: ``<role>\\n``, then each content block and ``\\n``. Text counts its
   text; ``tool_use`` its name and input JSON; ``tool_result`` its content; an image
   1,590 tokens and a non-text document 1,500, as placeholders that hash the source;
   thinking blocks of earlier turns count their text;
5. ``<assistant>\\n`` when the last message is the user's (a prefilled assistant turn
   is continued instead).

Blocks with ``cache_control`` become breakpoints; a top-level ``cache_control`` marks the
last cacheable block (automatic caching). Consecutive ``tool_use`` blocks, and
consecutive ``tool_result`` blocks, share one lookback position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from aifinops.sim.cache_rules import ANTHROPIC_MAX_BREAKPOINTS, ANTHROPIC_TTL_SECONDS
from aifinops.sim.errors import anthropic_invalid
from aifinops.sim.tokens import Transcript, compact, placeholder

IMAGE_TOKENS = 1590
DOCUMENT_TOKENS = 1500
ROLES = ("user", "assistant")
_UNCACHEABLE = ("thinking", "redacted_thinking")


def cache_ttl(value: Any, where: str) -> str | None:
    """The TTL of a ``cache_control`` value (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise anthropic_invalid(f"{where}: Input should be a valid dictionary")
    if value.get("type") != "ephemeral":
        raise anthropic_invalid(f"{where}.type: Input should be 'ephemeral'")
    ttl = value.get("ttl", "5m")
    if ttl not in ANTHROPIC_TTL_SECONDS:
        raise anthropic_invalid(f"{where}.ttl: Input should be '5m' or '1h'")
    return str(ttl)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise anthropic_invalid(f"{where}: Input should be a valid string")
    return value


def _nested(content: Any, where: str) -> str:
    """Text of a tool result's or document's content: a string or a list of blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise anthropic_invalid(f"{where}: Input should be a valid list")
    out = []
    for k, block in enumerate(content):
        if not isinstance(block, dict):
            raise anthropic_invalid(f"{where}.{k}: Input should be a valid dictionary")
        if block.get("type") == "text":
            out.append(_text(block.get("text"), f"{where}.{k}.text"))
        elif block.get("type") == "image":
            out.append(placeholder("image", block.get("source"), IMAGE_TOKENS))
        else:
            out.append(compact(block))
    return "".join(out)


def _text_block(block: dict[str, Any], where: str) -> str:
    text = _text(block.get("text"), f"{where}.text")
    if not text:
        raise anthropic_invalid("messages: text content blocks must be non-empty")
    return text


def _document(block: dict[str, Any], where: str) -> str:
    source = block.get("source")
    source = source if isinstance(source, dict) else {}
    if source.get("type") == "text":
        return _text(source.get("data"), f"{where}.source.data")
    if source.get("type") == "content":
        return _nested(source.get("content"), f"{where}.source.content")
    return placeholder("document", source, DOCUMENT_TOKENS)


_RENDERERS: Mapping[str, Callable[[dict[str, Any], str], str]] = {
    "text": _text_block,
    "image": lambda block, _: placeholder("image", block.get("source"), IMAGE_TOKENS),
    "document": _document,
    "tool_use": lambda block, _: f"{block.get('name', '')}{compact(block.get('input', {}))}",
    "tool_result": lambda block, where: _nested(block.get("content"), f"{where}.content"),
    "thinking": lambda block, where: _text(block.get("thinking", ""), f"{where}.thinking"),
    "redacted_thinking": lambda block, _: compact(block.get("data", "")),
}


def _block(block: dict[str, Any], where: str) -> tuple[str, str]:
    """The rendered text and lookback kind of one message content block."""
    kind = block.get("type")
    if not isinstance(kind, str):
        raise anthropic_invalid(f"{where}.type: Field required")
    render = _RENDERERS.get(kind)
    return (render(block, where) if render else compact(block)), kind


def _tools(t: Transcript, body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise anthropic_invalid("tools: Input should be a valid list")
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise anthropic_invalid(f"tools.{i}: Input should be a valid dictionary")
        ttl = cache_ttl(tool.get("cache_control"), f"tools.{i}.cache_control")
        t.write("<tool>" + compact({k: v for k, v in tool.items() if k != "cache_control"}) + "\n")
        t.end_block("tool", ttl)


def _system(t: Transcript, body: dict[str, Any]) -> None:
    if body.get("speed") is not None:
        t.write(f"<speed>{body['speed']}\n")
    system = body.get("system")
    if isinstance(system, str):
        if system:
            t.write(f"<system>{system}\n")
            t.end_block("system")
    elif isinstance(system, list):
        t.write("<system>")
        for j, block in enumerate(system):
            where = f"system.{j}"
            if not isinstance(block, dict) or block.get("type") != "text":
                raise anthropic_invalid(f"{where}.type: Input should be 'text'")
            text = _text(block.get("text"), f"{where}.text")
            if not text:
                raise anthropic_invalid("system: text content blocks must be non-empty")
            t.write(text + "\n")
            t.end_block("system", cache_ttl(block.get("cache_control"), f"{where}.cache_control"))
    elif system is not None:
        raise anthropic_invalid("system: Input should be a valid string or a list of text blocks")
    for name in ("tool_choice", "thinking", "output_config"):
        if body.get(name) is not None:
            t.write(f"<{name}>{compact(body[name])}\n")


def _messages(t: Transcript, messages: list[Any]) -> None:
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise anthropic_invalid(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ROLES:
            raise anthropic_invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise anthropic_invalid(f"messages.{i}.content: Field required")
        content = message["content"]
        t.write(f"<{role}>\n")
        if isinstance(content, str):
            if not content and not (i == last and role == "assistant"):
                raise anthropic_invalid(
                    f"messages.{i}: {role} messages must have non-empty content"
                )
            t.write(content + "\n")
            t.end_block("text")
            continue
        if not isinstance(content, list):
            raise anthropic_invalid(f"messages.{i}.content: Input should be a valid list")
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            if not isinstance(block, dict):
                raise anthropic_invalid(f"{where}: Input should be a valid dictionary")
            text, kind = _block(block, where)
            ttl = cache_ttl(block.get("cache_control"), f"{where}.cache_control")
            if ttl is not None and kind in _UNCACHEABLE:
                raise anthropic_invalid(
                    f"{where}.{kind}.cache_control: Extra inputs are not permitted"
                )
            t.write(text + "\n")
            merge = kind in ("tool_use", "tool_result")
            t.end_block(kind, ttl, eligible=kind not in _UNCACHEABLE, merge=merge)


def _automatic(t: Transcript, value: Any) -> None:
    """Top-level ``cache_control``: a breakpoint on the last cacheable block."""
    ttl = cache_ttl(value, "cache_control")
    if ttl is None:
        return
    for index in range(len(t.blocks) - 1, -1, -1):
        block = t.blocks[index]
        if not block.eligible:
            continue
        if block.ttl is not None and block.ttl != ttl:
            raise anthropic_invalid(
                "cache_control: the last cacheable block already has a cache_control with a "
                f"different ttl ({block.ttl!r} vs {ttl!r})"
            )
        if block.ttl is None:
            if sum(b.ttl is not None for b in t.blocks) >= ANTHROPIC_MAX_BREAKPOINTS:
                raise anthropic_invalid(
                    f"A maximum of {ANTHROPIC_MAX_BREAKPOINTS} blocks with cache_control may be "
                    "provided; automatic caching needs a free slot."
                )
            t.blocks[index] = dataclasses.replace(block, ttl=ttl)
        return


def _check_breakpoints(t: Transcript) -> None:
    ttls = [b.ttl for b in t.blocks if b.ttl is not None]
    if len(ttls) > ANTHROPIC_MAX_BREAKPOINTS:
        raise anthropic_invalid(
            f"A maximum of {ANTHROPIC_MAX_BREAKPOINTS} blocks with cache_control may be "
            f"provided. Found {len(ttls)}."
        )
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        raise anthropic_invalid(
            "cache_control: a ttl='1h' cache_control block must not come after a ttl='5m' "
            "cache_control block; put longer-lived breakpoints first"
        )


def render_anthropic(body: dict[str, Any]) -> Transcript:
    """The transcript of a Messages (or count_tokens) request; ``messages`` is a list."""
    t = Transcript()
    _tools(t, body)
    _system(t, body)
    messages: list[Any] = body["messages"]
    _messages(t, messages)
    _automatic(t, body.get("cache_control"))
    _check_breakpoints(t)
    last = messages[-1] if messages else None
    if not (isinstance(last, dict) and last.get("role") == "assistant"):
        t.write("<assistant>\n")
    return t


def require_messages(body: dict[str, Any]) -> list[Any]:
    messages = body.get("messages")
    if messages is None:
        raise anthropic_invalid("messages: Field required")
    if not isinstance(messages, list):
        raise anthropic_invalid("messages: Input should be a valid list")
    if not messages:
        raise anthropic_invalid("messages: at least one message is required")
    return messages
