"""`parse_block`: a block of JSONL lines parsed in one call gives the objects a line-by-line
parse gives, or None (the caller then goes line by line), and the import's worker
prepares the same batch either way."""

from __future__ import annotations

import io
import json
import pickle
import random
from typing import Any

import orjson
import pytest

from aifinops.ingest import events
from aifinops.ingest.files import block_lines, line_blocks, parse_block, parse_json_line
from aifinops.ledger.staged import staged_params
from tests.ingest.test_import_spans import RATES, record
from tests.ingest.test_raw import CHAT, MESSAGE


def _random_objects(rng: random.Random, count: int) -> bytes:
    lines = []
    for i in range(count):
        value: dict[str, Any] = {"n": i, "text": "x" * rng.randrange(40), "nested": {"a": [1, 2]}}
        if rng.random() < 0.2:
            value["unicode"] = "é, 日本, \u2028"
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        lines.append(b"  " + text + b"\t" if rng.random() < 0.1 else text)
    eol = b"\r\n" if rng.random() < 0.3 else b"\n"
    data = eol.join(lines)
    return data + eol if rng.random() < 0.7 else data


@pytest.mark.parametrize("seed", range(20))
def test_a_block_parses_to_the_objects_of_its_lines(seed: int) -> None:
    rng = random.Random(seed)
    data = _random_objects(rng, rng.randrange(1, 300))
    for first, block in line_blocks(io.BytesIO(data), rng.choice((1, 7, 50, 5000))):
        by_lines = [parse_json_line(n, text).data for n, text in block_lines(first, block)]
        assert parse_block(block) == by_lines


@pytest.mark.parametrize(
    "block",
    [
        b"",
        b"\n",
        b'{"a": 1}\n\n{"a": 2}\n',  # a blank line
        b'{"a": 1}\n   \n{"a": 2}\n',  # a line of spaces
        b'{"a": 1}\n{"a": 2}\n  \n',  # spaces after the last line
        b'{"a": 1}\n{"a": \n',  # not JSON
        b'{"a": 1}\n[1, 2]\n',  # not an object
        b'{"a": 1}\nnull\n',
        b'{"a": 1}\n"text"\n',
        b'{"a": 1}, {"b": 2}\n{"c": 3}\n',  # two objects on one line
        b'{"a": 1}\n1, 2\n',  # two values on one line
        b'\xef\xbb\xbf{"a": 1}\n',  # a byte order mark
        b'{"a": 1}\n{"a": "\xff"}\n',  # not UTF-8
    ],
)
def test_anything_but_one_object_a_line_goes_line_by_line(block: bytes) -> None:
    assert parse_block(block) is None


def _batch(first: int, block: bytes, fmt: str = "canonical", dialect: str = "sqlite") -> Any:
    return pickle.loads(events.prepare_block_packed(first, block, fmt, RATES, dialect))


def _by_lines(first: int, block: bytes, fmt: str = "canonical", dialect: str = "sqlite") -> Any:
    return events.prepare_lines(block_lines(first, block), fmt, RATES, dialect)


def _same(fast: Any, slow: Any) -> None:
    assert (fast.rows, fast.valid, fast.unpriced, fast.columns) == (
        slow.rows,
        slow.valid,
        slow.unpriced,
        slow.columns,
    )
    params = staged_params(fast.params) if fast.columns is not None else fast.params
    assert params == slow.params
    assert (fast.inputs is None) == (slow.inputs is None)
    if fast.inputs is not None:
        assert fast.inputs.equals(slow.inputs)
    assert fast.rejections == slow.rejections


def test_the_worker_prepares_a_plain_block_as_it_prepares_its_lines() -> None:
    records = [record(i) for i in range(60)]
    records[7] = records[3]  # a duplicate event inside the block
    block = b"".join(orjson.dumps(r) + b"\n" for r in records)
    fast, slow = _batch(1, block), _by_lines(1, block)
    _same(fast, slow)
    assert fast.rejections == []


def test_a_block_with_a_bad_line_names_it_by_its_number_in_the_file() -> None:
    lines = [orjson.dumps(record(i)) for i in range(10)]
    lines[4] = b'{"event_id": "e-4", "ts": "yesterday"}'
    lines[6] = b"not json"
    batch = _batch(101, b"\n".join(lines) + b"\n")
    assert [(r.line, r.field) for r in batch.rejections] == [(105, "ts"), (107, None)]
    assert (batch.rows, batch.valid) == (10, 8)


def _raw_lines(fmt: str) -> list[bytes]:
    if fmt == "openai":
        bodies = [{**CHAT, "id": f"chatcmpl-{i}"} for i in range(12)]
        return [orjson.dumps({"team": "sales", "response": b}) for b in bodies]
    return [
        orjson.dumps({"ts": "2026-11-01T12:00:00Z", "response": {**MESSAGE, "id": f"msg_{i}"}})
        for i in range(12)
    ]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("fmt", ["canonical", "openai", "anthropic"])
def test_a_block_of_other_records_is_prepared_record_by_record_as_its_lines(
    fmt: str, dialect: str
) -> None:
    """Records that are not plain (timestamps with an offset, tags) or raw provider
    records: parsed at once, then validated one by one, the same batch as line by line,
    bad records named by their line in the file."""
    if fmt == "canonical":
        records = [record(i) for i in range(30)]  # "+00:00" offsets: not plain
        records[4]["tag_env"] = "prod"
        records[9]["input_tokens"] = -1
        lines = [orjson.dumps(r) for r in records]
    else:
        lines = _raw_lines(fmt)
        lines[5] = orjson.dumps({"ts": "2026-11-01T12:00:00Z", "response": {"usage": "none"}})
    block = b"\n".join(lines) + b"\n"
    assert parse_block(block) is not None
    fast, slow = _batch(201, block, fmt, dialect), _by_lines(201, block, fmt, dialect)
    _same(fast, slow)
    bad = 210 if fmt == "canonical" else 206
    assert [r.line for r in fast.rejections] == [bad]
