"""Bedrock model-invocation logs from a local directory (the S3 layout) → ledger events.

AWS writes invocation logs to S3 as ``…/AWSLogs/{account}/BedrockModelInvocationLogs/
{region}/{yyyy}/{mm}/{dd}/{hh}/*.json.gz``: gzipped JSON lines, one record per call.
Sync that prefix to a directory (``aws s3 sync``) and import it: every ``*.json.gz``,
``*.json`` and ``*.jsonl`` below it, in path order. Each record becomes a priced
`UsageEvent` (``aifinops.providers.parse_bedrock_invocation_log``) with attribution from
``requestMetadata``; ``event_id`` is ``bedrock:<requestId>``, so importing the same
directory again adds nothing.

A gzip file cut short (an interrupted copy) is read up to the last complete record and
reported; a record that is not valid JSON or misses a field is rejected with its file
and line; the other records are imported.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from aifinops.ingest.events import ImportSummary, import_events
from aifinops.ingest.files import Rejection, Row, parse_json_line
from aifinops.ingest.raw import converter_for
from aifinops.pricing import PricingEngine

PATTERNS = ("*.json.gz", "*.json", "*.jsonl", "*.jsonl.gz")
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class FileProblem:
    path: Path
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class LogImportSummary:
    files: int = 0
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    unpriced: int = 0
    truncated_files: int = 0
    problems: list[FileProblem] = field(default_factory=list)

    def add(self, summary: ImportSummary) -> None:
        self.records += summary.rows
        self.imported += summary.imported
        self.duplicates += summary.duplicates
        self.rejected += summary.rejected
        self.unpriced += summary.unpriced


class TruncatedError(Exception):
    """The gzip stream ended before its end marker; ``lines`` complete lines were read."""

    def __init__(self, lines: int, reason: str) -> None:
        self.lines = lines
        self.reason = reason
        super().__init__(reason)


def log_files(root: Path) -> list[Path]:
    """Every log file below ``root`` (or ``root`` itself), sorted by path."""
    if root.is_file():
        return [root]
    found = {p for pattern in PATTERNS for p in root.rglob(pattern) if p.is_file()}
    return sorted(found)


def _gzip_lines(path: Path) -> Iterator[bytes]:
    """Complete lines of a (possibly multi-member) gzip file; `TruncatedError` if cut short."""
    inflater = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has been given any bytes
    pending = b""
    lines = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            data = chunk
            while data:
                fed = True
                try:
                    pending += inflater.decompress(data)
                except zlib.error as exc:
                    raise TruncatedError(lines, f"not a valid gzip stream ({exc})") from None
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    lines += 1
                    yield line
                data = b""
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=31)
                    fed = False
    if fed and not inflater.eof:
        raise TruncatedError(lines, "the gzip file is cut short")
    if pending.strip():
        lines += 1
        yield pending


def _plain_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from (line.rstrip(b"\n") for line in stream)


def _rows(path: Path, lines: Iterator[bytes]) -> Iterator[Row]:
    buffered = list(lines)
    numbered = [(i, text) for i, text in enumerate(buffered, start=1) if text.strip()]
    first = parse_json_line(*numbered[0]) if numbered else None
    if first is not None and first.data is None and len(numbered) > 1:
        # not JSON lines: maybe one pretty-printed record or an array of records
        try:
            whole = json.loads(b"\n".join(buffered))
        except ValueError:
            whole = None
        if isinstance(whole, dict):
            yield Row(line=1, data=whole)
            return
        if isinstance(whole, list):
            for i, item in enumerate(whole, start=1):
                yield (
                    Row(line=i, data=item)
                    if isinstance(item, dict)
                    else Row(line=i, data=None, error="array item is not a JSON object")
                )
            return
    for number, text in numbered:
        yield parse_json_line(number, text)


def read_log_file(path: Path) -> tuple[list[Row], FileProblem | None]:
    """The records of one file, and a problem if the file was cut short or unreadable."""
    gz = path.name.endswith(".gz")
    collected: list[bytes] = []
    problem: FileProblem | None = None
    try:
        for line in _gzip_lines(path) if gz else _plain_lines(path):
            collected.append(line)
    except TruncatedError as exc:
        problem = FileProblem(
            path,
            None,
            f"{exc.reason}: the {exc.lines} complete record lines before the cut were read, "
            "the rest is missing (copy the file again and re-import)",
        )
    except OSError as exc:
        problem = FileProblem(path, None, f"cannot read: {exc.strerror or exc}")
    return list(_rows(path, iter(collected))), problem


def import_log_directory(
    db: Engine,
    pricing: PricingEngine,
    root: Path,
    *,
    on_problem: Callable[[FileProblem], None] = lambda _p: None,
) -> LogImportSummary:
    """Import every invocation-log file below ``root`` into the ledger (idempotent)."""
    summary = LogImportSummary()
    convert = converter_for("bedrock-log")
    for path in log_files(root):
        summary.files += 1
        rows, problem = read_log_file(path)
        if problem is not None:
            summary.truncated_files += 1
            summary.problems.append(problem)
            on_problem(problem)

        def reject(rejection: Rejection, path: Path = path) -> None:
            found = FileProblem(path, rejection.line, str(rejection).split(": ", 1)[1])
            summary.problems.append(found)
            on_problem(found)

        if rows:
            summary.add(import_events(db, pricing, rows, convert, on_reject=reject))
    return summary
