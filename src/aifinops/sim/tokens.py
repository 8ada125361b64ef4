"""Deterministic token counts: one token per 4 bytes of UTF-8.

The rule: a piece of text costs ``ceil(len(text.encode("utf-8")) / 4)`` tokens. English
prose comes out near real tokenizers (about 4 characters a token); text in scripts of
3-byte characters (Chinese, Japanese) comes out near one token per 1.3 characters.

A prompt is first rendered into a canonical transcript (see `aifinops.sim.openai_prompt`
and `aifinops.sim.anthropic_prompt`): role headers, tool definitions and content in the
order the provider processes them. Its token count is the rule applied to the whole
transcript, and the first *n* tokens of a prompt are its first ``4 * n`` bytes, which
is what prefix caching hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

BYTES_PER_TOKEN = 4


def tokens_for_bytes(size: int) -> int:
    """Tokens of ``size`` bytes of UTF-8 text (rounded up)."""
    return -(-size // BYTES_PER_TOKEN)


def count_tokens(text: str) -> int:
    """Tokens of a piece of text."""
    return tokens_for_bytes(len(text.encode("utf-8")))


def compact(value: Any) -> str:
    """Compact JSON, as tool definitions and arguments are rendered."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def placeholder(kind: str, part: Any, tokens: int) -> str:
    """A stand-in of exactly ``tokens`` tokens for a non-text part (an image, a file)
    that changes when the part changes."""
    digest = hashlib.blake2b(compact(part).encode(), digest_size=8).hexdigest()
    head = f"[{kind}:{digest}]"
    return head + "." * max(0, tokens * BYTES_PER_TOKEN - len(head))


@dataclass(frozen=True, slots=True)
class Block:
    """The end of one content block in a transcript, and its cache breakpoint if any."""

    end: int
    kind: str
    ttl: str | None = None
    eligible: bool = True


class Transcript:
    """A rendered prompt: its bytes and the block boundaries prefix caching looks at."""

    __slots__ = ("_chunks", "_data", "blocks", "size")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._data: bytes | None = None
        self.size = 0
        self.blocks: list[Block] = []

    def write(self, text: str) -> None:
        raw = text.encode("utf-8")
        self._chunks.append(raw)
        self.size += len(raw)
        self._data = None

    def end_block(
        self, kind: str, ttl: str | None = None, *, eligible: bool = True, merge: bool = False
    ) -> None:
        """Close a block at the current position.

        ``merge`` folds this block into the previous one when both are of the same kind
        and neither is a breakpoint (Anthropic counts a run of ``tool_use`` blocks, or
        of ``tool_result`` blocks, as one lookback position).
        """
        last = self.blocks[-1] if self.blocks else None
        if merge and last is not None and last.kind == kind and last.ttl is None and ttl is None:
            self.blocks[-1] = Block(self.size, kind, None, eligible)
            return
        self.blocks.append(Block(self.size, kind, ttl, eligible))

    @property
    def tokens(self) -> int:
        return tokens_for_bytes(self.size)

    def data(self) -> bytes:
        if self._data is None:
            self._data = b"".join(self._chunks)
            self._chunks = [self._data]
        return self._data

    def digest(self) -> bytes:
        """A short hash of the whole transcript (seeds the generated reply)."""
        return hashlib.blake2b(self.data(), digest_size=16).digest()

    def prefix_digests(self, ends: list[int]) -> dict[int, bytes]:
        """Hashes of the prefixes ending at each byte offset in ``ends``, in one pass."""
        data = self.data()
        hasher = hashlib.blake2b(digest_size=16)
        out: dict[int, bytes] = {}
        position = 0
        for end in sorted(set(ends)):
            hasher.update(data[position:end])
            position = end
            out[end] = hasher.copy().digest()
        return out
