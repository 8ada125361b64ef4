"""Pieces the OpenAI routes share: model checks, parameters, caching, usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aifinops.sim.errors import SimError, openai_invalid
from aifinops.sim.generate import EFFORT_REASONING_TOKENS, natural_length
from aifinops.sim.models import KnownModel
from aifinops.sim.openai_prompt import invalid_type, invalid_value
from aifinops.sim.state import Context
from aifinops.sim.tokens import Transcript

SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast")
_TIER_ECHO = {"auto": "default", "default": "default", "fast": "priority"}
RETENTIONS = ("in_memory", "24h")
DAY_S = 86_400.0
DEFAULT_EFFORT = "medium"


def require_model(ctx: Context, body: dict[str, Any], endpoint: str, *, chat: bool) -> KnownModel:
    """The requested model, or the error OpenAI gives for a missing or unknown one."""
    model = body.get("model")
    if model is None:
        raise openai_invalid("you must provide a model parameter", "model")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    known = ctx.state.models.find("openai", model)
    if known is None:
        raise SimError(
            404,
            "invalid_request_error",
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    if chat and not known.chat:
        raise SimError(
            404,
            "invalid_request_error",
            f"This is not a chat model and thus not supported in the v1/{endpoint} endpoint.",
            param="model",
        )
    return known


def int_param(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if value < minimum:
        raise openai_invalid(
            f"Invalid '{name}': integer below minimum value. "
            f"Expected a value >= {minimum}, but got {value} instead.",
            name,
            "integer_below_min_value",
        )
    return value


def bool_param(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value


def service_tier(body: dict[str, Any]) -> str:
    """The tier the response reports: ``auto`` runs as ``default``, ``fast`` as ``priority``."""
    tier = body.get("service_tier")
    if tier is None:
        return "default"
    if tier not in SERVICE_TIERS:
        raise invalid_value("service_tier", tier, SERVICE_TIERS)
    return _TIER_ECHO.get(str(tier), str(tier))


def check_context(known: KnownModel, prompt_tokens: int, param: str) -> None:
    window = known.context_window
    if window and prompt_tokens > window:
        raise openai_invalid(
            f"This model's maximum context length is {window} tokens. However, your "
            f"messages resulted in {prompt_tokens} tokens. Please reduce the length of the "
            "messages.",
            param,
            "context_length_exceeded",
        )


def cached_tokens(ctx: Context, body: dict[str, Any], known: KnownModel, t: Transcript) -> int:
    """Apply automatic prefix caching to a prompt; the tokens it read from the cache."""
    retention = body.get("prompt_cache_retention")
    if retention is not None and retention not in RETENTIONS:
        raise invalid_value("prompt_cache_retention", retention, RETENTIONS)
    key = body.get("prompt_cache_key")
    if key is not None and not isinstance(key, str):
        raise invalid_type("prompt_cache_key", "a string", key)
    ttl = DAY_S if retention == "24h" else ctx.state.config.openai_cache_ttl_s
    scope = f"{known.model_id}|{key or ''}"
    return ctx.state.openai_cache.apply(scope, t, ctx.now, ttl)


def reasoning_tokens(ctx: Context, known: KnownModel, effort: Any, param: str) -> int:
    """Reasoning tokens a request spends: by effort for reasoning models, else 0."""
    if effort is not None and effort not in EFFORT_REASONING_TOKENS:
        raise invalid_value(param, effort, tuple(EFFORT_REASONING_TOKENS))
    if not known.reasoning:
        return 0
    if ctx.reasoning_tokens is not None:
        return ctx.reasoning_tokens
    return EFFORT_REASONING_TOKENS[str(effort or DEFAULT_EFFORT)]


def natural(ctx: Context, digest: bytes) -> int:
    return natural_length(digest, ctx.output_tokens)


def stop_sequences(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise invalid_type("stop", "one of a string or array of strings", stop)
    if len(stop) > 4:
        raise openai_invalid(
            f"Invalid 'stop': array too long. Expected an array with maximum length 4, "
            f"but got an array with length {len(stop)} instead.",
            "stop",
            "array_above_max_length",
        )
    return tuple(stop)


@dataclass(frozen=True, slots=True)
class ForcedTool:
    name: str
    schema: Any


def forced_tool(body: dict[str, Any], *, nested: bool) -> ForcedTool | None:
    """The function a request forces (``tool_choice`` ``required`` or a named function).

    ``nested`` is the Chat Completions layout (``{"function": {"name", "parameters"}}``);
    the Responses API puts ``name`` and ``parameters`` on the tool itself.
    """
    choice = body.get("tool_choice")
    tools = body.get("tools")
    functions: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else []:
        spec = tool.get("function") if nested and isinstance(tool, dict) else tool
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(spec, dict):
            functions.append(spec)
    if choice == "required" and functions:
        first = functions[0]
        return ForcedTool(str(first.get("name", "")), first.get("parameters"))
    if isinstance(choice, dict) and choice.get("type") == "function":
        named = choice.get("function") if nested else choice
        name = named.get("name") if isinstance(named, dict) else None
        for spec in functions:
            if spec.get("name") == name:
                return ForcedTool(str(name), spec.get("parameters"))
        raise openai_invalid(
            f"Invalid value for 'tool_choice': function '{name}' was not found in 'tools'.",
            "tool_choice",
            "invalid_value",
        )
    return None
