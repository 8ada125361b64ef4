"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Usage follows the Messages API: ``input_tokens`` is the uncached input only, beside
``cache_read_input_tokens``, ``cache_creation_input_tokens`` and its 5-minute / 1-hour
split in ``cache_creation``; ``output_tokens`` includes thinking, reported again in
``output_tokens_details.thinking_tokens``. A stream runs ``message_start`` (input
usage), ``content_block_start`` / ``_delta`` / ``_stop`` per block, ``message_delta``
(stop reason and cumulative usage) and ``message_stop``.

Thinking: ``thinking: {"type": "enabled", "budget_tokens": B}`` spends
``min(B, effort tokens)``; ``{"type": "adaptive"}`` spends the effort's tokens
(``output_config.effort``, default ``high``; see `EFFORT_REASONING_TOKENS`).
"""

from __future__ import annotations

from typing import Any

from aifinops.sim.anthropic_prompt import render_anthropic, require_messages
from aifinops.sim.cache import AnthropicCacheUsage
from aifinops.sim.errors import SimError, anthropic_invalid
from aifinops.sim.generate import (
    EFFORT_REASONING_TOKENS,
    Plan,
    ToolCall,
    fragments,
    natural_length,
    pieces,
    plan_reply,
    plan_tool_call,
    reply_text,
)
from aifinops.sim.models import KnownModel
from aifinops.sim.reply import Charge, Event, Reply, named_event
from aifinops.sim.state import Context
from aifinops.sim.tokens import compact

MIN_THINKING_BUDGET = 1024
DEFAULT_EFFORT = "high"
SERVICE_TIERS = ("auto", "standard_only")
_THINKING_SALT = 7919


def require_model(ctx: Context, body: dict[str, Any]) -> KnownModel:
    model = body.get("model")
    if model is None:
        raise anthropic_invalid("model: Field required")
    if not isinstance(model, str):
        raise anthropic_invalid("model: Input should be a valid string")
    known = ctx.state.models.find("anthropic", model)
    if known is None:
        raise SimError(404, "not_found_error", f"model: {model}")
    return known


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_tokens")
    if value is None:
        raise anthropic_invalid("max_tokens: Field required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise anthropic_invalid("max_tokens: Input should be a valid integer")
    if value < 0:
        raise anthropic_invalid("max_tokens: Input should be greater than or equal to 0")
    return value


def _effort(body: dict[str, Any]) -> str:
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    allowed = ("low", "medium", "high", "xhigh", "max")
    if effort is not None and effort not in allowed:
        raise anthropic_invalid(
            "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
        )
    return str(effort or DEFAULT_EFFORT)


def _thinking(ctx: Context, body: dict[str, Any], max_tokens: int) -> int:
    """Thinking tokens this request spends (0 when thinking is off)."""
    thinking = body.get("thinking")
    if thinking is None:
        return 0
    if not isinstance(thinking, dict):
        raise anthropic_invalid("thinking: Input should be a valid dictionary")
    kind = thinking.get("type")
    natural = ctx.reasoning_tokens
    if natural is None:
        natural = EFFORT_REASONING_TOKENS[_effort(body)]
    if kind == "disabled":
        return 0
    if kind in ("adaptive", "between_tools"):
        return natural
    if kind != "enabled":
        raise anthropic_invalid(
            "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'"
        )
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise anthropic_invalid("thinking.enabled.budget_tokens: Field required")
    if budget < MIN_THINKING_BUDGET:
        raise anthropic_invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to "
            f"{MIN_THINKING_BUDGET}"
        )
    if budget >= max_tokens:
        raise anthropic_invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    return min(budget, natural)


def _stops(body: dict[str, Any]) -> tuple[str, ...]:
    stops = body.get("stop_sequences")
    if stops is None:
        return ()
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise anthropic_invalid("stop_sequences: Input should be a valid list of strings")
    return tuple(stops)


def _forced_tool(body: dict[str, Any]) -> tuple[str, Any] | None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict) or choice.get("type") not in ("any", "tool"):
        return None
    tools = body.get("tools")
    custom = [t for t in tools or [] if isinstance(t, dict) and "input_schema" in t]
    for tool in custom:
        if choice["type"] == "any" or tool.get("name") == choice.get("name"):
            return str(tool.get("name", "")), tool["input_schema"]
    raise anthropic_invalid(f"tool_choice: tool {choice.get('name')!r} not found in tools")


def _check_prewarm(body: dict[str, Any], stream: bool) -> None:
    """``max_tokens: 0`` warms the cache; it cannot stream, think or force a tool."""
    thinking = body.get("thinking")
    choice = body.get("tool_choice")
    if (
        stream
        or (isinstance(thinking, dict) and thinking.get("type") == "enabled")
        or (isinstance(choice, dict) and choice.get("type") in ("any", "tool"))
    ):
        raise anthropic_invalid(
            "max_tokens: 0 is only allowed without stream, extended thinking or a forced tool"
        )


def _check_context(known: KnownModel, total: int, max_tokens: int) -> None:
    window = known.context_window
    if not window:
        return
    if total > window:
        raise anthropic_invalid(f"prompt is too long: {total} tokens > {window} maximum")
    if total + max_tokens > window:
        raise anthropic_invalid(
            f"input length and `max_tokens` exceed context limit: {total} + {max_tokens} > "
            f"{window}, decrease input length or `max_tokens` and try again"
        )


def _usage(cache: AnthropicCacheUsage, output: int, thinking: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": cache.input_tokens,
        "cache_creation_input_tokens": cache.cache_write,
        "cache_read_input_tokens": cache.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.cache_write_5m,
            "ephemeral_1h_input_tokens": cache.cache_write_1h,
        },
        "output_tokens": output,
    }
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return usage


def handle(ctx: Context, body: dict[str, Any]) -> Reply:
    known = require_model(ctx, body)
    max_tokens = _max_tokens(body)
    require_messages(body)
    stream = body.get("stream") is True
    if max_tokens == 0:
        _check_prewarm(body, stream)
    if (body.get("service_tier") or "auto") not in SERVICE_TIERS:
        raise anthropic_invalid("service_tier: Input should be 'auto' or 'standard_only'")
    think = _thinking(ctx, body, max_tokens)
    stops = _stops(body)
    transcript = render_anthropic(body)
    total = transcript.tokens
    _check_context(known, total, max_tokens)
    forced = _forced_tool(body)
    # the request is valid: only now may it touch the cache
    cache = ctx.state.anthropic_cache.apply(known.model_id, transcript, ctx.now)
    digest = transcript.digest()
    call: ToolCall | None = None
    plan: Plan | None = None
    if forced is not None:
        call = plan_tool_call(forced[0], forced[1], think)
        output, thought, stop_reason, stop_seq = call.output_tokens, think, "tool_use", None
    else:
        natural = natural_length(digest, ctx.output_tokens)
        plan = plan_reply(digest, natural, think, max_tokens, stops)
        output, thought, stop_seq = plan.output_tokens, plan.reasoning_tokens, plan.stop_sequence
        stop_reason = (
            "max_tokens" if plan.truncated else "stop_sequence" if stop_seq else "end_turn"
        )
    ids = ctx.state.ids
    content: list[dict[str, Any]] = []
    if thought:
        thinking_text = reply_text(digest, thought, _THINKING_SALT)
        content.append(
            {"type": "thinking", "thinking": thinking_text, "signature": ids.signature()}
        )
    if call is not None:
        tool_input = {"type": "tool_use", "id": ids.anthropic_tool_use(), "name": call.name}
        content.append({**tool_input, "input": call.value})
    elif plan is not None and plan.text:
        content.append({"type": "text", "text": plan.text})
    usage = _usage(cache, output, thought)
    message = {
        "id": ids.anthropic_message(),
        "type": "message",
        "role": "assistant",
        "model": known.requested,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_seq,
        "usage": {
            **usage,
            "service_tier": "standard",
            "inference_geo": body.get("inference_geo") or "global",
            **({"speed": body["speed"]} if body.get("speed") else {}),
        },
    }
    charge = Charge(
        input_tokens=cache.input_tokens,
        cache_read=cache.cache_read,
        cache_write=cache.cache_write,
        output_tokens=output,
        reasoning_tokens=thought,
    )
    if not stream:
        return Reply(charge=charge, body=message)
    return _stream(message, usage, charge)


def _block_events(index: int, block: dict[str, Any]) -> list[Event]:
    kind = block["type"]
    events: list[Event] = []

    def delta(payload: dict[str, Any], tokens: int = 1) -> None:
        data = {"type": "content_block_delta", "index": index, "delta": payload}
        events.append(named_event("content_block_delta", data, tokens))

    if kind == "thinking":
        start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
    elif kind == "tool_use":
        start = {**block, "input": {}}
    else:
        start = {"type": "text", "text": ""}
    data = {"type": "content_block_start", "index": index, "content_block": start}
    events.append(named_event("content_block_start", data))
    if kind == "thinking":
        for part in pieces(block["thinking"]):
            delta({"type": "thinking_delta", "thinking": part})
        delta({"type": "signature_delta", "signature": block["signature"]}, 0)
    elif kind == "tool_use":
        for part in fragments(compact(block["input"])):
            delta({"type": "input_json_delta", "partial_json": part})
    else:
        for part in pieces(block["text"]):
            delta({"type": "text_delta", "text": part})
    stop = {"type": "content_block_stop", "index": index}
    events.append(named_event("content_block_stop", stop))
    return events


def _stream(message: dict[str, Any], usage: dict[str, Any], charge: Charge) -> Reply:
    opening_usage = {**message["usage"], "output_tokens": min(1, usage["output_tokens"])}
    opening_usage.pop("output_tokens_details", None)
    opening = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    opening["usage"] = opening_usage
    events = [named_event("message_start", {"type": "message_start", "message": opening})]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block))
    if len(events) > 1:
        events.insert(2, named_event("ping", {"type": "ping"}))
    tail = len(events)
    final_usage = {k: v for k, v in usage.items() if k != "cache_creation"}
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    events.append(
        named_event("message_delta", {"type": "message_delta", "delta": stop, "usage": final_usage})
    )
    events.append(named_event("message_stop", {"type": "message_stop"}))
    return Reply(charge=charge, events=events, tail=tail)


def count_tokens(ctx: Context, body: dict[str, Any]) -> Reply:
    """``/v1/messages/count_tokens``: the total input tokens a Messages call would bill."""
    require_model(ctx, body)
    require_messages(body)
    if body.get("thinking") is not None:
        _thinking(ctx, body, max_tokens=2**31)
    return Reply(charge=Charge(), body={"input_tokens": render_anthropic(body).tokens})
