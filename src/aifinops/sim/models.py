"""Which models the simulator serves, and what kind each one is.

A model exists when the pricing catalog knows it for the provider (so an unknown name
gets the provider's own 404). The kind of a model is decided by its name:

- OpenAI *reasoning* models: the ``o`` series (``o1``, ``o3``, ``o4-mini``, ...),
  ``codex`` models, and ``gpt-N`` for N >= 5 except ``*-chat*`` variants
  (``gpt-5-chat-latest`` is not a reasoning model). They spend reasoning tokens, reject
  ``max_tokens`` on Chat Completions and report ``reasoning_tokens``.
- OpenAI *embedding* models: names containing ``embedding``; only these serve
  ``/v1/embeddings``, and they serve nothing else.
- OpenAI models without a chat interface (speech, transcription, image, moderation,
  realtime and legacy completion models) are refused on the chat and responses routes.
- Anthropic models think only when the request enables ``thinking``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from aifinops.pricing.catalog import Catalog

_O_SERIES = re.compile(r"^o\d")
_GPT_MAJOR = re.compile(r"^gpt-(\d+)")
_NON_CHAT = (
    "embedding",
    "tts",
    "whisper",
    "transcribe",
    "dall-e",
    "gpt-image",
    "image-",
    "moderation",
    "realtime",
    "davinci",
    "babbage",
    "curie",
)

#: Native vector size of each embedding model (``dimensions`` may shorten -3 models).
EMBEDDING_DIMENSIONS: Mapping[str, int] = MappingProxyType(
    {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
)
EMBEDDING_CONTEXT_TOKENS = 8192


@dataclass(frozen=True, slots=True)
class KnownModel:
    """A model the catalog knows: the name asked for and the catalog's own id."""

    provider: str
    requested: str
    model_id: str
    context_window: int | None
    reasoning: bool = False
    chat: bool = True
    embedding: bool = False


def _bare(model: str) -> str:
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:]
    return name.split("/")[-1]


def is_openai_reasoning(model: str) -> bool:
    """Whether an OpenAI model spends reasoning tokens (see the module docstring)."""
    name = _bare(model)
    if _O_SERIES.match(name) or "codex" in name:
        return True
    major = _GPT_MAJOR.match(name)
    return major is not None and int(major.group(1)) >= 5 and "chat" not in name


def is_embedding_model(model: str) -> bool:
    return "embedding" in _bare(model)


def is_chat_model(model: str) -> bool:
    name = _bare(model)
    return name != "ada" and not any(part in name for part in _NON_CHAT)


def embedding_dimensions(model_id: str) -> int:
    return EMBEDDING_DIMENSIONS.get(model_id, 1536)


class ModelDirectory:
    """Looks models up in the catalog once and remembers the answer (bounded)."""

    def __init__(self, catalog: Catalog, max_entries: int = 4096) -> None:
        self._catalog = catalog
        self._known: dict[tuple[str, str], KnownModel | None] = {}
        self._max = max_entries

    def find(self, provider: str, model: str) -> KnownModel | None:
        key = (provider, model)
        if key in self._known:
            return self._known[key]
        found = self._catalog.find(provider, model)
        known = None
        if found is not None:
            info = found[1]
            known = KnownModel(
                provider,
                model,
                info.id,
                info.context_window,
                reasoning=provider == "openai" and is_openai_reasoning(model),
                chat=is_chat_model(model) and is_chat_model(info.id),
                embedding=is_embedding_model(info.id),
            )
        if len(self._known) < self._max:
            self._known[key] = known
        return known
