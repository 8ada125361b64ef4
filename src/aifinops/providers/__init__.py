"""Provider adapters: one module per wire format, each a set of pure functions.

Each adapter turns a provider payload (response body, stream events, batch result
line, log record) into the canonical usage split of `aifinops.usage`, and injects
attribution into provider requests. The trap they exist for: OpenAI's input counts
include cached tokens, Anthropic's exclude them, Bedrock reports them beside the input.
"""

from aifinops.providers.anthropic import (
    AnthropicStreamAccumulator,
    inject_anthropic_attribution,
    parse_anthropic_batch_result,
    parse_anthropic_message,
    parse_anthropic_usage,
)
from aifinops.providers.base import ParsedUsage, ProviderFormatError
from aifinops.providers.bedrock import (
    BedrockConverseStreamAccumulator,
    parse_bedrock_converse_metadata,
    parse_bedrock_converse_response,
    parse_bedrock_invocation_log,
    parse_bedrock_invocation_metrics,
    parse_bedrock_token_usage,
)
from aifinops.providers.openai import (
    OpenAIChatStreamAccumulator,
    OpenAIResponsesStreamAccumulator,
    inject_openai_attribution,
    parse_openai_batch_output_line,
    parse_openai_chat_completion,
    parse_openai_chat_usage,
    parse_openai_embeddings_response,
    parse_openai_embeddings_usage,
    parse_openai_response,
    parse_openai_responses_usage,
)

__all__ = [
    "AnthropicStreamAccumulator",
    "BedrockConverseStreamAccumulator",
    "OpenAIChatStreamAccumulator",
    "OpenAIResponsesStreamAccumulator",
    "ParsedUsage",
    "ProviderFormatError",
    "inject_anthropic_attribution",
    "inject_openai_attribution",
    "parse_anthropic_batch_result",
    "parse_anthropic_message",
    "parse_anthropic_usage",
    "parse_bedrock_converse_metadata",
    "parse_bedrock_converse_response",
    "parse_bedrock_invocation_log",
    "parse_bedrock_invocation_metrics",
    "parse_bedrock_token_usage",
    "parse_openai_batch_output_line",
    "parse_openai_chat_completion",
    "parse_openai_chat_usage",
    "parse_openai_embeddings_response",
    "parse_openai_embeddings_usage",
    "parse_openai_response",
    "parse_openai_responses_usage",
]
