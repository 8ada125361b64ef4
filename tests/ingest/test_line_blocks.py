"""`line_blocks` and `block_lines`: a file's lines in blocks, numbered as read line by line."""

from __future__ import annotations

import io
import random

import pytest

from aifinops.ingest.files import block_lines, line_blocks, numbered_lines


def _by_lines(data: bytes) -> list[tuple[int, bytes]]:
    """The reference: line by line, without each line's newline."""
    return [(n, line.removesuffix(b"\n")) for n, line in numbered_lines(io.BytesIO(data))]


def _by_blocks(data: bytes, max_lines: int) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    blocks = list(line_blocks(io.BytesIO(data), max_lines))
    lines = [pair for first, block in blocks for pair in block_lines(first, block)]
    return lines, [block for _, block in blocks]


def _random_file(rng: random.Random, lines: int) -> bytes:
    out = []
    for i in range(lines):
        kind = rng.random()
        if kind < 0.1:
            out.append(b"")  # blank
        elif kind < 0.15:
            out.append(b"   \t")  # blank but for spaces
        else:
            width = rng.choice((5, 40, 300, 5000))
            out.append(b'{"n": %d, "pad": "%s"}' % (i, b"x" * rng.randrange(width)))
    eol = b"\r\n" if rng.random() < 0.3 else b"\n"
    data = eol.join(out)
    return data + eol if rng.random() < 0.7 else data


@pytest.mark.parametrize("seed", range(40))
def test_blocks_give_the_lines_and_numbers_of_a_line_by_line_read(seed: int) -> None:
    rng = random.Random(seed)
    data = _random_file(rng, rng.randrange(1, 400))
    max_lines = rng.choice((1, 2, 7, 50, 5000))
    lines, blocks = _by_blocks(data, max_lines)
    assert lines == _by_lines(data)
    assert b"".join(blocks) == data  # nothing lost, nothing read twice
    for block in blocks[:-1]:
        assert block.endswith(b"\n")  # whole lines only
    for block in blocks:
        assert block.count(b"\n") <= max_lines


def test_blocks_follow_the_line_length() -> None:
    data = b"".join(b'{"i": %d}\n' % i for i in range(10_000))
    _, blocks = _by_blocks(data, 1000)
    assert all(b.count(b"\n") <= 1000 for b in blocks)
    # sized by the lines seen: after the first, each block holds most of its 1,000 lines
    assert all(b.count(b"\n") >= 800 for b in blocks[1:-1])
    assert len(blocks) <= 14


def test_an_empty_file_has_no_blocks_and_a_bound_below_one_is_refused() -> None:
    assert list(line_blocks(io.BytesIO(b""), 10)) == []
    assert _by_blocks(b"\n\n  \n", 2)[0] == []
    with pytest.raises(ValueError, match="max_lines"):
        list(line_blocks(io.BytesIO(b"{}\n"), 0))


def test_a_last_line_without_newline_keeps_its_number() -> None:
    assert _by_blocks(b'{"a": 1}\n\n{"b": 2}', 1)[0] == [(1, b'{"a": 1}'), (3, b'{"b": 2}')]
