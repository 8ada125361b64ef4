"""``POST /v1/responses``: a response object, or its stream of typed events.

A stream runs ``response.created``, ``response.in_progress``, the output items (a
reasoning item for reasoning models, then the message or function call with its
deltas), and ends in ``response.completed`` -- or ``response.incomplete`` when
``max_output_tokens`` cut the reply -- carrying ``response.usage``.

Responses are stored unless ``store`` is false, so ``previous_response_id`` continues
a conversation: the earlier turns are part of the new prompt (and of its cached prefix).
"""

from __future__ import annotations

from typing import Any

from aifinops.sim.errors import SimError
from aifinops.sim.generate import fragments, pieces, plan_reply, plan_tool_call
from aifinops.sim.openai_prompt import invalid_type, missing, render_responses
from aifinops.sim.openai_shared import (
    DEFAULT_EFFORT,
    bool_param,
    cached_tokens,
    check_context,
    forced_tool,
    int_param,
    natural,
    reasoning_tokens,
    require_model,
    service_tier,
)
from aifinops.sim.reply import Charge, Event, Reply, named_event
from aifinops.sim.state import Context

MIN_OUTPUT_TOKENS = 16


def _earlier(ctx: Context, body: dict[str, Any]) -> str:
    previous = body.get("previous_response_id")
    if previous is None:
        return ""
    if not isinstance(previous, str):
        raise invalid_type("previous_response_id", "a string", previous)
    found = ctx.state.conversations.get(previous)
    if found is None:
        raise SimError(
            404,
            "invalid_request_error",
            f"Previous response with id '{previous}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return found


def _tools(body: dict[str, Any]) -> list[Any]:
    tools = body.get("tools") or []
    out = []
    for tool in tools if isinstance(tools, list) else []:
        is_function = isinstance(tool, dict) and tool.get("type") == "function"
        out.append({"strict": True, "description": None, **tool} if is_function else tool)
    return out


def _effort(body: dict[str, Any]) -> Any:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        raise invalid_type("reasoning", "an object", reasoning)
    return reasoning.get("effort")


def handle(ctx: Context, body: dict[str, Any]) -> Reply:
    known = require_model(ctx, body, "responses", chat=True)
    model = known.requested
    if body.get("input") is None:
        raise missing("input")
    limit = int_param(body, "max_output_tokens", MIN_OUTPUT_TOKENS)
    stream = bool_param(body, "stream")
    store = body.get("store") is not False
    tier = service_tier(body)
    effort = _effort(body)
    think = reasoning_tokens(ctx, known, effort, "reasoning.effort")
    earlier = _earlier(ctx, body)
    transcript, conversation = render_responses(body, earlier)
    input_tokens = transcript.tokens
    check_context(known, input_tokens, "input")
    tool = forced_tool(body, nested=False)
    cached = cached_tokens(ctx, body, known, transcript)
    digest = transcript.digest()
    ids = ctx.state.ids
    response_id = ids.response()
    output: list[dict[str, Any]] = []
    if think:
        output.append({"id": ids.response_item("rs"), "type": "reasoning", "summary": []})
    incomplete = False
    if tool is not None:
        call = plan_tool_call(tool.name, tool.schema, think)
        out_tokens, reasoned = call.output_tokens, think
        output.append(
            {
                "id": ids.response_item("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": ids.call(),
                "name": call.name,
                "arguments": call.arguments,
            }
        )
        said = f"<function_call>{call.name}{call.arguments}\n"
    else:
        plan = plan_reply(digest, natural(ctx, digest), think, limit)
        out_tokens, reasoned = plan.output_tokens, plan.reasoning_tokens
        incomplete = plan.truncated
        if plan.visible_tokens or not incomplete:
            output.append(_message(ids.response_item("msg"), plan.text, incomplete))
        said = f"<assistant>{plan.text}\n"
    if store:
        ctx.state.conversations.put(response_id, conversation + said)
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": out_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoned},
        "total_tokens": input_tokens + out_tokens,
    }
    charge = Charge(
        input_tokens=input_tokens - cached,
        cache_read=cached,
        output_tokens=out_tokens,
        reasoning_tokens=reasoned,
    )
    shown_effort = (effort or DEFAULT_EFFORT) if known.reasoning else effort
    final = _response(ctx, body, response_id, model, tier, limit, shown_effort)
    final.update(
        status="incomplete" if incomplete else "completed",
        completed_at=None if incomplete else int(ctx.now),
        incomplete_details={"reason": "max_output_tokens"} if incomplete else None,
        output=output,
        usage=usage,
    )
    if not stream:
        return Reply(charge=charge, body=final)
    return _stream(final, charge)


def _message(item_id: str, text: str, incomplete: bool) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "incomplete" if incomplete else "completed",
        "content": [_text_part(text)],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _response(
    ctx: Context,
    body: dict[str, Any],
    response_id: str,
    model: str,
    tier: str,
    limit: int | None,
    effort: Any,
) -> dict[str, Any]:
    """The response object's fields that do not depend on the output."""
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(ctx.now),
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": limit,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": body.get("prompt_cache_retention"),
        "reasoning": {"effort": effort, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": tier,
        "store": body.get("store") is not False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium", **(text or {})},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _item_events(index: int, item: dict[str, Any], emit: Any) -> None:
    """The added/delta/done events of one output item."""
    opened: dict[str, Any] = {**item, "status": "in_progress"}
    if item["type"] == "message":
        opened["content"] = []
    elif item["type"] == "function_call":
        opened["arguments"] = ""
    elif item["type"] == "reasoning":
        opened.pop("status")
    emit("response.output_item.added", {"output_index": index, "item": opened})
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        emit("response.content_part.added", {**where, "content_index": 0, "part": _text_part("")})
        for part in pieces(text):
            delta = {**where, "content_index": 0, "delta": part, "logprobs": []}
            emit("response.output_text.delta", delta, tokens=1)
        emit("tail", None)
        done = {**where, "content_index": 0, "text": text, "logprobs": []}
        emit("response.output_text.done", done)
        part_done = {**where, "content_index": 0, "part": _text_part(text)}
        emit("response.content_part.done", part_done)
    elif item["type"] == "function_call":
        for part in fragments(item["arguments"]):
            emit("response.function_call_arguments.delta", {**where, "delta": part}, tokens=1)
        emit("tail", None)
        args = {**where, "arguments": item["arguments"]}
        emit("response.function_call_arguments.done", args)
    emit("response.output_item.done", {"output_index": index, "item": item})


def _stream(final: dict[str, Any], charge: Charge) -> Reply:
    events: list[Event] = []
    tail = 0

    def emit(kind: str, data: dict[str, Any] | None, tokens: int = 0) -> None:
        nonlocal tail
        if data is None:
            tail = len(events)
            return
        payload = {"type": kind, "sequence_number": len(events), **data}
        events.append(named_event(kind, payload, tokens))

    opening = {**final, "status": "in_progress", "output": [], "usage": None}
    opening.update(completed_at=None, incomplete_details=None)
    emit("response.created", {"response": opening})
    emit("response.in_progress", {"response": opening})
    for index, item in enumerate(final["output"]):
        _item_events(index, item, emit)
    if not tail:
        tail = len(events)
    last = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    emit(last, {"response": final})
    return Reply(charge=charge, events=events, tail=tail)
