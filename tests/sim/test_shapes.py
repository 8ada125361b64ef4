"""Every route's bodies and stream events validate against the official SDKs' own types."""

from __future__ import annotations

import base64
import struct

import pytest
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from aifinops.pricing.catalog import Catalog
from tests.sim.conftest import (
    ANTHROPIC_HEADERS,
    OPENAI_HEADERS,
    chat,
    message,
    sim_client,
    sse_events,
    sse_json,
)

pytestmark = pytest.mark.anyio

RESPONSE_EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
ANTHROPIC_EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


async def test_chat_completion_body_and_headers(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post("/v1/chat/completions", json=chat(), headers=OPENAI_HEADERS)
    assert r.status_code == 200
    completion = ChatCompletion.model_validate(r.json())
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert r.headers["x-request-id"].startswith("req_")
    assert int(r.headers["x-ratelimit-remaining-requests"]) == (
        int(r.headers["x-ratelimit-limit-requests"]) - 1
    )
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")


async def test_chat_stream_chunks_end_with_usage_chunk_and_done(catalog: Catalog) -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    async with sim_client(catalog) as client:
        r = await client.post("/v1/chat/completions", json=body, headers=OPENAI_HEADERS)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.rstrip().endswith("data: [DONE]")
    chunks = [ChatCompletionChunk.model_validate(c) for c in sse_json(r.text)]
    assert all(c.usage is None for c in chunks[:-1])
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1] if c.choices)
    assert final.usage.completion_tokens == (len(text.encode()) + 3) // 4
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_chat_stream_without_include_usage_has_no_usage_key(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post(
            "/v1/chat/completions", json=chat(stream=True), headers=OPENAI_HEADERS
        )
    payloads = sse_json(r.text)
    assert payloads
    assert all("usage" not in p for p in payloads)
    assert all(p["choices"] for p in payloads)


async def test_responses_body_validates(catalog: Catalog) -> None:
    body = {"model": "gpt-5", "input": "Summarise our spend", "instructions": "Be brief."}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/responses", json=body, headers=OPENAI_HEADERS)
    response = Response.model_validate(r.json())
    assert response.status == "completed"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output_text
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 384  # medium effort
    assert response.reasoning is not None and response.reasoning.effort == "medium"


async def test_responses_stream_events_end_in_completed(catalog: Catalog) -> None:
    body = {"model": "gpt-4.1-mini", "input": "Hi", "stream": True}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/responses", json=body, headers=OPENAI_HEADERS)
    named = list(sse_events(r.text))
    events = [RESPONSE_EVENT.validate_json(data) for _, data in named]
    assert [name for name, _ in named] == [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created"
    last = events[-1]
    assert last.type == "response.completed"
    assert last.response.usage is not None
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == last.response.output_text


async def test_embeddings_float_and_base64_agree(catalog: Catalog) -> None:
    base = {"model": "text-embedding-3-small", "input": ["cost per ticket", "budget"]}
    async with sim_client(catalog) as client:
        as_float = await client.post("/v1/embeddings", json=base, headers=OPENAI_HEADERS)
        b64 = {**base, "encoding_format": "base64"}
        as_b64 = await client.post("/v1/embeddings", json=b64, headers=OPENAI_HEADERS)
    floats = CreateEmbeddingResponse.model_validate(as_float.json())
    assert [len(d.embedding) for d in floats.data] == [1536, 1536]
    assert sum(x * x for x in floats.data[0].embedding) == pytest.approx(1.0, abs=1e-5)
    raw = base64.b64decode(as_b64.json()["data"][0]["embedding"])
    assert list(struct.unpack("<1536f", raw)) == floats.data[0].embedding
    assert floats.usage.prompt_tokens == 4 + 2  # 15 bytes -> 4 tokens, 6 bytes -> 2


async def test_embeddings_dimensions_shorten_and_renormalise(catalog: Catalog) -> None:
    body = {"model": "text-embedding-3-large", "input": "x", "dimensions": 8}
    async with sim_client(catalog) as client:
        r = await client.post("/v1/embeddings", json=body, headers=OPENAI_HEADERS)
    vector = r.json()["data"][0]["embedding"]
    assert len(vector) == 8
    assert sum(x * x for x in vector) == pytest.approx(1.0, abs=1e-5)


async def test_anthropic_message_body_and_headers(catalog: Catalog) -> None:
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=message(), headers=ANTHROPIC_HEADERS)
    msg = Message.model_validate(r.json())
    assert msg.id.startswith("msg_01")
    assert msg.stop_reason == "end_turn"
    assert msg.usage.service_tier == "standard"
    assert msg.usage.cache_creation is not None
    assert r.headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-input-tokens-remaining" in r.headers
    assert r.headers["anthropic-ratelimit-requests-reset"].endswith("Z")


async def test_anthropic_stream_event_sequence(catalog: Catalog) -> None:
    body = message(stream=True, thinking={"type": "enabled", "budget_tokens": 1024})
    body["max_tokens"] = 4000
    async with sim_client(catalog) as client:
        r = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    named = list(sse_events(r.text))
    events = [ANTHROPIC_EVENT.validate_json(data) for name, data in named if name != "ping"]
    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == 2 == types.count("content_block_stop")
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    assert delta.usage.output_tokens > start.message.usage.output_tokens
    assert delta.usage.output_tokens_details is not None
    assert delta.usage.output_tokens_details.thinking_tokens == 1024
    assert ("ping", '{"type":"ping"}') in named


async def test_count_tokens_matches_message_input(catalog: Catalog) -> None:
    body = message("How much did team search spend last week?", system="You are terse.")
    async with sim_client(catalog) as client:
        counted = await client.post(
            "/v1/messages/count_tokens",
            json={k: v for k, v in body.items() if k != "max_tokens"},
            headers=ANTHROPIC_HEADERS,
        )
        sent = await client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    total = MessageTokensCount.model_validate(counted.json()).input_tokens
    assert total == Message.model_validate(sent.json()).usage.input_tokens
    assert total > 10
