"""The official SDKs against a real `aifinops sim` process on an ephemeral port.

The server is started once for this module through the CLI (with a faults file and
an API key) and stopped at the end; every call uses ``max_retries=0`` so each fault
surfaces as the SDK's own exception.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

API_KEY = "sk-sim-test-0000"
LAUNCH = "import aifinops.cli.sim; from aifinops.cli.app import app; app()"
FAULTS = {
    "seed": 3,
    "retry_after": 7,
    "rules": [
        {"fault": "429", "models": ["gpt-4.1-nano"], "every": 1},
        {"fault": "429", "models": ["claude-3-haiku*"], "routes": ["/v1/messages"], "every": 1},
    ],
}
LONG_SYSTEM = "You review cloud invoices for waste. " * 400  # ~14,800 bytes: ~3,700 tokens


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("sim")
    faults = folder / "faults.json"
    faults.write_text(json.dumps(FAULTS))
    log = (folder / "server.log").open("w")
    cmd = [sys.executable, "-c", LAUNCH, "sim", "--port", "0", "--faults", str(faults)]
    proc = subprocess.Popen(
        [*cmd, "--api-key", API_KEY], stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + _tail(folder / "server.log")
        url = line.split("listening on ")[1].split()[0]
        _wait_healthy(url)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            log.close()


def _tail(path: Path) -> str:
    return path.read_text()[-2000:] if path.exists() else ""


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 15
    with httpx.Client() as client:
        while True:
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


@pytest.fixture
def oai(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=API_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def ant(base_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


USER: Any = [{"role": "user", "content": "How much did the search team spend?"}]


def test_openai_chat_plain_and_streamed(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert completion.choices[0].message.content
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert usage.completion_tokens == completion.usage.completion_tokens  # same prompt, same reply
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content


def test_openai_responses_plain_and_streamed(oai: openai.OpenAI) -> None:
    response = oai.responses.create(
        model="o4-mini", input="Summarise the bill", reasoning={"effort": "low"}
    )
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 128
    with oai.responses.stream(model="gpt-4.1", input="Summarise the bill") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[-1] == "response.completed"
    assert final.usage is not None and final.output_text


def test_openai_embeddings_default_base64(oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="text-embedding-3-small", input=["a ticket", "a lead"])
    assert [len(d.embedding) for d in result.data] == [1536, 1536]
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 2 + 2


def test_openai_prefix_cache_seen_by_sdk(oai: openai.OpenAI) -> None:
    messages: Any = [{"role": "system", "content": LONG_SYSTEM}, *USER]
    first = oai.chat.completions.create(model="gpt-4.1-mini", messages=messages)
    second = oai.chat.completions.create(model="gpt-4.1-mini", messages=messages)
    assert first.usage is not None and second.usage is not None
    assert first.usage.prompt_tokens_details is not None
    assert second.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == 3712  # 1,024 + 21 x 128


def test_openai_errors_raise_sdk_exceptions(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        oai.chat.completions.create(model="gpt-nonexistent", messages=USER)
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model="gpt-4.1-nano", messages=USER)
    assert limited.value.response.headers["retry-after"] == "7"
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(
            model="gpt-4o", messages=USER, extra_headers={"x-sim-fault": "500"}
        )
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.3).chat.completions.create(
            model="gpt-4o", messages=USER, extra_headers={"x-sim-fault": "timeout"}
        )
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(
            model="gpt-4o", messages=USER, extra_headers={"x-sim-fault": "reset"}
        )
    wrong_key = openai.OpenAI(base_url=str(oai.base_url), api_key="sk-wrong-key", max_retries=0)
    with wrong_key as bad, pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=USER)


def test_openai_stream_faults(oai: openai.OpenAI) -> None:
    cut = oai.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-sim-fault": "truncated-stream"},
    )
    chunks = list(cut)
    assert chunks and all(c.usage is None for c in chunks)
    broken = oai.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        stream=True,
        extra_headers={"x-sim-fault": "malformed-sse"},
    )
    with pytest.raises(json.JSONDecodeError):
        list(broken)


def test_anthropic_messages_plain_and_streamed(ant: anthropic.Anthropic) -> None:
    msg = ant.messages.create(model="claude-sonnet-4-6", max_tokens=300, messages=USER)
    assert msg.stop_reason == "end_turn"
    with ant.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=USER,
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.usage.output_tokens_details is not None
    assert final.usage.output_tokens_details.thinking_tokens == 1024
    assert text == final.content[1].text
    count = ant.messages.count_tokens(model="claude-sonnet-4-6", messages=USER)
    assert count.input_tokens == msg.usage.input_tokens


def test_anthropic_cache_write_then_read(ant: anthropic.Anthropic) -> None:
    system: Any = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    first = ant.messages.create(
        model="claude-opus-4-8", max_tokens=100, system=system, messages=USER
    )
    second = ant.messages.create(
        model="claude-opus-4-8", max_tokens=100, system=system, messages=USER
    )
    assert first.usage.cache_creation_input_tokens == 3702
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == 3702
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens


def test_anthropic_errors_raise_sdk_exceptions(ant: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        ant.messages.create(model="claude-nonexistent", max_tokens=10, messages=USER)
    with pytest.raises(anthropic.RateLimitError) as limited:
        ant.messages.create(model="claude-3-haiku-20240307", max_tokens=10, messages=USER)
    assert limited.value.response.headers["retry-after"] == "7"
    with pytest.raises(anthropic.OverloadedError):
        ant.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "529"},
        )
    with pytest.raises(anthropic.InternalServerError):
        ant.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "500"},
        )
    with pytest.raises(anthropic.APITimeoutError):
        ant.with_options(timeout=0.3).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "timeout"},
        )
    with pytest.raises(anthropic.APIConnectionError):
        ant.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=USER,
            extra_headers={"x-sim-fault": "reset"},
        )
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Field required"):
        ant.post(
            "/v1/messages", cast_to=object, body={"model": "claude-sonnet-4-6", "messages": USER}
        )
    wrong_key = anthropic.Anthropic(base_url=str(ant.base_url), api_key="wrong", max_retries=0)
    with wrong_key as bad, pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=USER)


def test_anthropic_truncated_stream_has_no_final_usage(ant: anthropic.Anthropic) -> None:
    stream = ant.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=USER,
        stream=True,
        extra_headers={"x-sim-fault": "truncated-stream"},
    )
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start"
    assert "content_block_delta" in kinds
    assert "message_delta" not in kinds and "message_stop" not in kinds
