"""``POST /v1/chat/completions``: a chat completion or its stream of chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aifinops.sim.errors import openai_invalid
from aifinops.sim.generate import Plan, ToolCall, fragments, pieces, plan_reply, plan_tool_call
from aifinops.sim.ids import fingerprint
from aifinops.sim.openai_prompt import invalid_type, missing, render_chat
from aifinops.sim.openai_shared import (
    bool_param,
    cached_tokens,
    check_context,
    forced_tool,
    int_param,
    natural,
    reasoning_tokens,
    require_model,
    service_tier,
    stop_sequences,
)
from aifinops.sim.reply import DONE, Charge, Event, Reply, data_event
from aifinops.sim.state import Context

MAX_CHOICES = 128


@dataclass(frozen=True, slots=True)
class _Choice:
    plan: Plan | None
    call: ToolCall | None
    call_id: str

    @property
    def output_tokens(self) -> int:
        return self.call.output_tokens if self.call else self.plan.output_tokens if self.plan else 0

    @property
    def reasoning(self) -> int:
        return self.plan.reasoning_tokens if self.plan else 0

    @property
    def finish(self) -> str:
        if self.call is not None:
            return "tool_calls"
        return "length" if self.plan is not None and self.plan.truncated else "stop"

    def tool_calls(self) -> list[dict[str, Any]]:
        assert self.call is not None
        function = {"name": self.call.name, "arguments": self.call.arguments}
        return [{"id": self.call_id, "type": "function", "function": function}]


def _limit(body: dict[str, Any], reasoning_model: bool) -> int | None:
    if reasoning_model and body.get("max_tokens") is not None:
        raise openai_invalid(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    limit = int_param(body, "max_completion_tokens", 1)
    return limit if limit is not None else int_param(body, "max_tokens", 1)


def _stream_flags(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = bool_param(body, "stream")
    options = body.get("stream_options")
    if options is None:
        return stream, False
    if not stream:
        raise openai_invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            "invalid_value",
        )
    if not isinstance(options, dict):
        raise invalid_type("stream_options", "an object", options)
    return stream, options.get("include_usage") is True


def handle(ctx: Context, body: dict[str, Any]) -> Reply:
    known = require_model(ctx, body, "chat/completions", chat=True)
    model = known.requested
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array", messages)
    if not messages:
        raise openai_invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
    limit = _limit(body, known.reasoning)
    n = int_param(body, "n", 1) or 1
    if n > MAX_CHOICES:
        raise openai_invalid(f"Invalid 'n': expected at most {MAX_CHOICES}.", "n", "invalid_value")
    stream, include_usage = _stream_flags(body)
    stops = stop_sequences(body)
    tier = service_tier(body)
    think = reasoning_tokens(ctx, known, body.get("reasoning_effort"), "reasoning_effort")
    transcript = render_chat(body)
    prompt_tokens = transcript.tokens
    check_context(known, prompt_tokens, "messages")
    tool = forced_tool(body, nested=True)
    cached = cached_tokens(ctx, body, known, transcript)
    digest = transcript.digest()
    choices = []
    for index in range(n):
        if tool is not None:
            call = plan_tool_call(tool.name, tool.schema, think)
            choices.append(_Choice(None, call, ctx.state.ids.call()))
        else:
            plan = plan_reply(digest, natural(ctx, digest), think, limit, stops, salt=index)
            choices.append(_Choice(plan, None, ""))
    completion = sum(c.output_tokens for c in choices)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": sum(c.reasoning for c in choices),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    charge = Charge(
        input_tokens=prompt_tokens - cached,
        cache_read=cached,
        output_tokens=completion,
        reasoning_tokens=max((c.reasoning for c in choices), default=0),
    )
    head = {
        "id": ctx.state.ids.chat_completion(),
        "object": "chat.completion",
        "created": int(ctx.now),
        "model": model,
        "service_tier": tier,
        "system_fingerprint": fingerprint(model),
    }
    if stream:
        return _stream(head, choices, usage if include_usage else None, charge)
    body_out = {
        **head,
        "choices": [_message_choice(i, c) for i, c in enumerate(choices)],
        "usage": usage,
    }
    return Reply(charge=charge, body=body_out)


def _message_choice(index: int, choice: _Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if choice.call is not None:
        message["content"] = None
        message["tool_calls"] = choice.tool_calls()
    else:
        message["content"] = choice.plan.text if choice.plan else ""
    return {"index": index, "message": message, "logprobs": None, "finish_reason": choice.finish}


def _stream(
    head: dict[str, Any],
    choices: list[_Choice],
    usage: dict[str, Any] | None,
    charge: Charge,
) -> Reply:
    base = {**head, "object": "chat.completion.chunk"}
    if usage is not None:
        base["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: str | None, tokens: int = 0) -> Event:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return data_event({**base, "choices": [choice]}, tokens)

    content: list[Event] = []
    finals: list[Event] = []
    for index, choice in enumerate(choices):
        if choice.call is not None:
            call = choice.tool_calls()[0]
            opening = {**call, "function": {"name": choice.call.name, "arguments": ""}}
            delta = {"role": "assistant", "content": None, "tool_calls": [{"index": 0, **opening}]}
            content.append(chunk(index, delta, None))
            for part in fragments(choice.call.arguments):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                content.append(chunk(index, delta, None, 1))
        else:
            content.append(
                chunk(index, {"role": "assistant", "content": "", "refusal": None}, None)
            )
            for part in pieces(choice.plan.text if choice.plan else ""):
                content.append(chunk(index, {"content": part}, None, 1))
        finals.append(chunk(index, {}, choice.finish))
    events = [*content, *finals]
    tail = len(content)
    if usage is not None:
        events.append(data_event({**base, "choices": [], "usage": usage}))
    events.append(DONE)
    return Reply(charge=charge, events=events, tail=tail)
