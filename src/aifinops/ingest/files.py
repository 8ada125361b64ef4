"""Reading canonical event files (JSONL or CSV) as a stream of numbered rows.

Memory stays flat: rows are yielded one at a time, never collected.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

FILE_FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    data: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row refused: its line, the field at fault (if one) and why."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.reason}"


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def iter_rows(stream: Iterable[str], file_format: str) -> Iterator[Row]:
    """Yield each data row with its 1-based line number (CSV counts the header as line 1)."""
    if file_format == "csv":
        reader = csv.DictReader(stream)
        for record in reader:
            yield Row(line=reader.line_num, data=dict(record))
        return
    for number, text in enumerate(stream, start=1):
        if text.strip():
            yield parse_json_line(number, text)


def parse_json_line(number: int, text: str | bytes) -> Row:
    """One JSONL line as a numbered `Row` (an error row when it is not a JSON object)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Row(line=number, data=None, error=f"not valid JSON ({exc.msg})")
    if not isinstance(value, dict):
        return Row(line=number, data=None, error="each line must be a JSON object")
    return Row(line=number, data=value)


def numbered_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of each non-blank line of a binary stream."""
    for number, text in enumerate(stream, start=1):
        if text.strip():
            yield number, text


#: Bytes a line is first guessed to take when `line_blocks` sizes its first read.
_FIRST_GUESS = 256


def line_blocks(stream: BinaryIO, max_lines: int) -> Iterator[tuple[int, bytes]]:
    """A binary stream's whole lines in blocks of at most ``max_lines`` lines: (the
    number of the block's first line, the block's bytes).

    Each read is sized to about ``max_lines`` lines by the lines seen so far, then
    completed to the end of its last line, so an import's main process hands its
    workers a few large byte strings instead of a Python object per line (splitting the
    lines is the workers' part: `block_lines`).
    """
    if max_lines < 1:
        raise ValueError("max_lines must be at least 1")
    number = 1
    size = max_lines * _FIRST_GUESS
    carry = b""
    while True:
        data = carry + stream.read(size)
        carry = b""
        if not data:
            return
        if not data.endswith(b"\n"):
            data += stream.readline()
        count = data.count(b"\n")
        if count > max_lines:
            cut = -1
            for _ in range(max_lines):
                cut = data.index(b"\n", cut + 1)
            data, carry = data[: cut + 1], data[cut + 1 :]
            count = max_lines
        size = max(len(data) * max_lines // max(count, 1) * 9 // 10, 4096)
        yield number, data
        number += count


def parse_block(data: bytes) -> list[dict[str, Any]] | None:
    """The JSON objects of a `line_blocks` block, one per line, parsed in one call (the
    lines joined into one JSON array); None unless every line is exactly one JSON
    object: a blank line, a line that is not JSON, or one that holds anything else (an
    array, two objects) sends the caller the line-by-line way (`block_lines` and
    `parse_json_line`), which numbers each row and names each bad one.

    One parse of the block instead of one per line saves an import's worker ≈ 2 µs an
    event of ≈ 14 (docs/benchmarks.md, "The worker parses a block at once").
    """
    body = data.rstrip(b"\n")
    if not body:
        return None
    try:
        records: list[dict[str, Any]] = orjson.loads(b"[" + body.replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(records) != body.count(b"\n") + 1 or set(map(type, records)) != {dict}:
        return None
    return records


def block_lines(first: int, data: bytes) -> list[tuple[int, bytes]]:
    """(line number, line) of each non-blank line of a `line_blocks` block."""
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()  # after the block's last newline
    return [(first + i, line) for i, line in enumerate(lines) if line.strip()]
