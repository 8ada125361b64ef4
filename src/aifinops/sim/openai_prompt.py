"""Render OpenAI requests into canonical transcripts (and reject malformed ones).

Rendering (the token rule is in `aifinops.sim.tokens`):

- each tool, then the response format: ``<tool>{compact JSON}\\n``, ``<format>{...}\\n``;
- for the Responses API, ``instructions`` as ``<developer>...\\n``, then the earlier
  turns of ``previous_response_id``, then the input items;
- each message: ``<role>`` + its text parts + tool calls as compact JSON + ``\\n``;
- non-text parts count a fixed amount: an image 765 tokens (85 with
  ``detail: "low"``), an audio clip 200, a file 1,000 -- as a placeholder that
  hashes the part, so a changed image changes the prefix;
- finally ``<assistant>``, the reply priming.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aifinops.sim.errors import SimError, openai_invalid
from aifinops.sim.tokens import Transcript, compact, placeholder

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
RESPONSE_ROLES = ("user", "assistant", "system", "developer")
IMAGE_TOKENS = 765
IMAGE_LOW_TOKENS = 85
AUDIO_TOKENS = 200
FILE_TOKENS = 1000
PRIMING = "<assistant>"


def _type_name(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    names.update({list: "an array", dict: "an object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


def invalid_type(param: str, expected: str, value: Any) -> SimError:
    return openai_invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
        "invalid_type",
    )


def invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> SimError:
    listed = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    return openai_invalid(
        f"Invalid value: {compact(value)}. Supported values are: {listed}.", param, "invalid_value"
    )


def missing(param: str) -> SimError:
    return openai_invalid(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def _media(kind: str, part: dict[str, Any], detail: Any) -> str:
    if kind == "image":
        return placeholder("image", part, IMAGE_LOW_TOKENS if detail == "low" else IMAGE_TOKENS)
    if kind == "audio":
        return placeholder("audio", part, AUDIO_TOKENS)
    return placeholder("file", part, FILE_TOKENS)


_CHAT_PARTS: Mapping[str, str] = {
    "text": "text",
    "refusal": "refusal",
    "image_url": "image",
    "input_audio": "audio",
    "file": "file",
}
_RESPONSE_PARTS: Mapping[str, str] = {
    "input_text": "text",
    "output_text": "text",
    "text": "text",
    "summary_text": "text",
    "refusal": "refusal",
    "input_image": "image",
    "input_audio": "audio",
    "input_file": "file",
}


def _parts(content: list[Any], param: str, table: Mapping[str, str]) -> str:
    out: list[str] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise invalid_type(where, "an object", part)
        kind = table.get(str(part.get("type")))
        if kind is None:
            raise invalid_value(f"{where}.type", part.get("type"), tuple(table))
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise invalid_type(f"{where}.{kind}", "a string", text)
            out.append(text)
        else:
            image = part.get("image_url")
            detail = part.get("detail") or (
                image.get("detail") if isinstance(image, dict) else None
            )
            out.append(_media(kind, part, detail))
    return "".join(out)


def _content(content: Any, param: str, table: Mapping[str, str]) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return _parts(content, param, table)
    raise invalid_type(param, "one of a string or array of objects", content)


def _write_tools(t: Transcript, body: dict[str, Any]) -> None:
    for name in ("tools", "functions"):
        tools = body.get(name)
        if tools is None:
            continue
        if not isinstance(tools, list):
            raise invalid_type(name, "an array", tools)
        for tool in tools:
            t.write("<tool>" + compact(tool) + "\n")
    fmt = body.get("response_format")
    text = body.get("text")
    if fmt is None and isinstance(text, dict):
        fmt = text.get("format")
    if isinstance(fmt, dict) and fmt.get("type") not in (None, "text"):
        t.write("<format>" + compact(fmt) + "\n")


def render_chat(body: dict[str, Any]) -> Transcript:
    """The transcript of a Chat Completions request (``messages`` already checked)."""
    t = Transcript()
    _write_tools(t, body)
    for i, message in enumerate(body["messages"]):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid_type(where, "an object", message)
        role = message.get("role")
        if role not in CHAT_ROLES:
            if role is None:
                raise missing(f"{where}.role")
            raise invalid_value(f"{where}.role", role, CHAT_ROLES)
        calls = message.get("tool_calls") or message.get("function_call")
        content = message.get("content")
        if content is None and not (role == "assistant" and calls):
            raise missing(f"{where}.content")
        t.write(f"<{role}>")
        if content is not None:
            t.write(_content(content, f"{where}.content", _CHAT_PARTS))
        if calls:
            t.write(compact(calls))
        t.write("\n")
    t.write(PRIMING)
    return t


def _response_item(item: Any, where: str) -> str:
    if isinstance(item, str):
        return f"<user>{item}\n"
    if not isinstance(item, dict):
        raise invalid_type(where, "an object", item)
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in RESPONSE_ROLES:
            if role is None:
                raise missing(f"{where}.role")
            raise invalid_value(f"{where}.role", role, RESPONSE_ROLES)
        if "content" not in item:
            raise missing(f"{where}.content")
        return f"<{role}>" + _content(item["content"], f"{where}.content", _RESPONSE_PARTS) + "\n"
    if kind == "function_call":
        return f"<function_call>{item.get('name', '')}{item.get('arguments', '')}\n"
    if kind == "function_call_output":
        output = item.get("output", "")
        return "<tool>" + (output if isinstance(output, str) else compact(output)) + "\n"
    if kind in ("reasoning", "item_reference"):
        return ""
    return f"<{kind}>" + compact(item) + "\n"


def render_responses(body: dict[str, Any], earlier: str) -> tuple[Transcript, str]:
    """The transcript of a Responses request and its conversation text so far.

    ``earlier`` is the conversation of ``previous_response_id`` (empty if none); the
    returned conversation adds this request's input, for the next turn to build on.
    """
    t = Transcript()
    _write_tools(t, body)
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise invalid_type("instructions", "a string", instructions)
        t.write(f"<developer>{instructions}\n")
    items = body["input"]
    if isinstance(items, str):
        new = f"<user>{items}\n"
    elif isinstance(items, list):
        new = "".join(_response_item(item, f"input[{i}]") for i, item in enumerate(items))
    else:
        raise invalid_type("input", "one of a string or array of objects", items)
    conversation = earlier + new
    t.write(conversation)
    t.write(PRIMING)
    return t, conversation
