"""``POST /v1/embeddings``: deterministic unit vectors, one per input.

A vector is drawn from a normal distribution seeded by the model and the input, cut
to ``dimensions`` when asked, and scaled to length 1, so equal inputs embed equally.
Text inputs cost tokens by the simulator's rule; token-array inputs cost their length.
``encoding_format: "base64"`` (what the official SDK asks for by default) returns the
little-endian float32 bytes, base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import numpy as np

from aifinops.sim.errors import openai_invalid
from aifinops.sim.models import EMBEDDING_CONTEXT_TOKENS, embedding_dimensions
from aifinops.sim.openai_prompt import invalid_type, invalid_value, missing
from aifinops.sim.openai_shared import int_param, require_model
from aifinops.sim.reply import Charge, Reply
from aifinops.sim.state import Context
from aifinops.sim.tokens import compact, count_tokens

MAX_INPUTS = 2048
FORMATS = ("float", "base64")


def _inputs(value: Any) -> list[str | list[int]]:
    """The inputs of a request: strings, or token arrays."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise invalid_type("input", "one of a string or array", value)
    if not items or len(items) > MAX_INPUTS:
        raise openai_invalid(
            f"Invalid 'input': expected an array of 1 to {MAX_INPUTS} items, got {len(items)}.",
            "input",
            "invalid_value",
        )
    for item in items:
        is_tokens = isinstance(item, list) and all(
            isinstance(t, int) and not isinstance(t, bool) for t in item
        )
        if not (isinstance(item, str) or is_tokens) or not item:
            raise openai_invalid(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "input",
            )
    return items


def _vector(model_id: str, item: str | list[int], native: int, dims: int) -> np.ndarray[Any, Any]:
    key = (model_id + "\x00" + (item if isinstance(item, str) else compact(item))).encode()
    seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")
    raw = np.random.default_rng(seed).standard_normal(native)[:dims]
    unit: np.ndarray[Any, Any] = (raw / np.linalg.norm(raw)).astype("<f4")
    return unit


def handle(ctx: Context, body: dict[str, Any]) -> Reply:
    known = require_model(ctx, body, "embeddings", chat=False)
    model = known.requested
    if not known.embedding:
        raise openai_invalid(f"The model `{model}` does not support embeddings.", "model")
    if body.get("input") is None:
        raise missing("input")
    items = _inputs(body["input"])
    native = embedding_dimensions(known.model_id)
    dims = int_param(body, "dimensions", 1)
    if dims is not None and known.model_id == "text-embedding-ada-002":
        raise openai_invalid("This model does not support specifying dimensions.", "dimensions")
    if dims is not None and dims > native:
        raise openai_invalid(
            f"Invalid 'dimensions': integer above maximum value. Expected a value <= {native}, "
            f"but got {dims} instead.",
            "dimensions",
            "integer_above_max_value",
        )
    fmt = body.get("encoding_format", "float")
    if fmt not in FORMATS:
        raise invalid_value("encoding_format", fmt, FORMATS)
    total = 0
    data = []
    for index, item in enumerate(items):
        tokens = count_tokens(item) if isinstance(item, str) else len(item)
        if tokens > EMBEDDING_CONTEXT_TOKENS:
            raise openai_invalid(
                f"This model's maximum context length is {EMBEDDING_CONTEXT_TOKENS} tokens, "
                f"however you requested {tokens} tokens ({tokens} in your prompt; 0 for the "
                "completion). Please reduce your prompt; or completion length.",
                "input",
                "context_length_exceeded",
            )
        total += tokens
        vector = _vector(known.model_id, item, native, dims or native)
        encoded: Any = (
            base64.b64encode(vector.tobytes()).decode() if fmt == "base64" else vector.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    out = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }
    return Reply(charge=Charge(input_tokens=total), body=out)
