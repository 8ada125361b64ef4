"""Provider-shaped identifiers from a seeded generator: the same run yields the same ids."""

from __future__ import annotations

import hashlib
import random
import string

_ALNUM = (string.ascii_letters + string.digits).encode()
_SIGNATURE = _ALNUM + b"+/"


def _table(alphabet: bytes) -> bytes:
    """A byte translation table onto ``alphabet`` (each byte value mod its length)."""
    return bytes(alphabet[i % len(alphabet)] for i in range(256))


_TABLES = {_ALNUM: _table(_ALNUM), _SIGNATURE: _table(_SIGNATURE)}


class IdFactory:
    """Makes request, message, response and tool-call ids in each provider's format."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def _chars(self, alphabet: bytes, n: int) -> str:
        table = _TABLES.get(alphabet) or _table(alphabet)
        return self._rng.randbytes(n).translate(table).decode("ascii")

    def _hex(self, n: int) -> str:
        return f"{self._rng.getrandbits(4 * n):0{n}x}"

    def openai_request(self) -> str:
        return "req_" + self._hex(32)

    def anthropic_request(self) -> str:
        return "req_011C" + self._chars(_ALNUM, 20)

    def chat_completion(self) -> str:
        return "chatcmpl-" + self._chars(_ALNUM, 29)

    def response(self) -> str:
        return "resp_" + self._hex(48)

    def response_item(self, prefix: str) -> str:
        return f"{prefix}_" + self._hex(48)

    def call(self) -> str:
        return "call_" + self._chars(_ALNUM, 24)

    def anthropic_message(self) -> str:
        return "msg_01" + self._chars(_ALNUM, 22)

    def anthropic_tool_use(self) -> str:
        return "toolu_01" + self._chars(_ALNUM, 22)

    def signature(self) -> str:
        return self._chars(_SIGNATURE, 88) + "=="


def fingerprint(model: str) -> str:
    """A stable ``system_fingerprint`` per model."""
    return "fp_" + hashlib.blake2b(model.encode(), digest_size=5).hexdigest()
