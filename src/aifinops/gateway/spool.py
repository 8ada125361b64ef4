"""The recorder's durable spool: JSON lines in segment files, one writer process each.

Every finished call is appended (``os.write`` on an ``O_APPEND`` descriptor: in the
kernel before the client gets its last byte, so a killed process loses nothing) and
fsynced in batches by the recorder. A segment is deleted once every event in it is in
the ledger; the active one rolls over at ``rotate_bytes``.

Each live segment holds an exclusive ``flock``. At start-up a process adopts the
segments nobody holds (left by a crashed or killed process, or by a previous run) and
replays them; with several workers each adopts different files. Replays are safe to
repeat because ledger writes are idempotent on ``event_id``.

The recorder reads a segment back in chunks (`Spool.read`) both to replay an adopted
one and to catch up with the events it kept in the spool only while its in-memory queue
was full (a long database outage), so memory stays bounded either way.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from aifinops.usage import FLAT_DEFAULTS, parse_ts

log = logging.getLogger("aifinops.gateway")

ROTATE_BYTES = 8 * 1024 * 1024
#: At most this many bytes are read from a segment at once.
READ_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(eq=False, slots=True)
class Segment:
    path: Path
    fd: int
    appended: int = 0
    committed: int = 0
    size: int = 0
    active: bool = True
    dirty: bool = False
    #: Adopted from another process and not yet read to its end (its events are
    #: counted in ``appended`` as they are read).
    reading: bool = False
    #: Bytes read back so far (`Spool.read`).
    read_offset: int = 0
    #: Creation order of this process's own segments (0 for adopted ones).
    seq: int = 0


class Spool:
    def __init__(self, directory: Path, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self._segments: list[Segment] = []
        self._active: Segment | None = None
        self._seq = 0
        self.corrupt_lines = 0

    # --- lifecycle ---------------------------------------------------------------------

    def adopt_orphans(self) -> Iterator[tuple[Segment, list[dict[str, Any]]]]:
        """Segments no live process holds, locked by us, with all their events."""
        for segment in self.adopt_orphan_segments():
            rows: list[dict[str, Any]] = []
            while segment.reading:
                rows += self.read(segment, segment.size, limit=1 << 62)
            yield segment, rows
            self._maybe_delete(segment)

    def adopt_orphan_segments(self) -> list[Segment]:
        """Segments no live process holds, locked by us and not read yet (`read` them)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        adopted: list[Segment] = []
        for path in sorted(self.directory.glob("spool-*.jsonl")):
            if self._active is not None and path == self._active.path:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_APPEND)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if not path.exists():  # deleted by its owner just before we locked it
                os.close(fd)
                continue
            segment = Segment(path, fd, size=os.fstat(fd).st_size, active=False, reading=True)
            self._segments.append(segment)
            adopted.append(segment)
        return adopted

    def read(self, segment: Segment, end: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events of ``segment`` from its ``read_offset`` to byte ``end``.

        Moves ``read_offset`` past the whole lines read (a line still being written is
        left for the next call); an adopted segment is counted in ``appended`` as it is
        read and stops ``reading`` at its end. Safe in a worker thread while the event
        loop appends to the same segment.
        """
        rows: list[dict[str, Any]] = []
        offset = segment.read_offset
        size = min(end - offset, READ_CHUNK_BYTES)
        data = os.pread(segment.fd, size, offset) if size > 0 else b""
        start = 0
        while len(rows) < limit:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            row = self._parse(data[start:newline], segment.path)
            if row is not None:
                rows.append(row)
            start = newline + 1
        if start == 0 and len(data) == READ_CHUNK_BYTES:  # one line longer than a chunk
            start = len(data)
            self.corrupt_lines += 1
            log.warning("spool %s: skipping an oversized line", segment.path.name)
        segment.read_offset = offset + start
        if segment.reading:
            segment.appended += len(rows)
            if segment.read_offset >= end or (len(rows) < limit and offset + len(data) >= end):
                if segment.read_offset < end:  # a last line cut short by a crash
                    self.corrupt_lines += 1
                    log.warning("spool %s: skipping a corrupt line", segment.path.name)
                segment.read_offset = end
                segment.reading = False
        return rows

    def _parse(self, line: bytes, path: Path) -> dict[str, Any] | None:
        if not line.strip():
            return None
        try:
            row = orjson.loads(line)
            row["ts"] = parse_ts(row["ts"])
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            self.corrupt_lines += 1  # a line cut short by a crash mid-write
            log.warning("spool %s: skipping a corrupt line", path.name)
            return None
        if isinstance(row, dict) and row.get("event_id"):
            return {**FLAT_DEFAULTS, **row}
        return None

    def release(self, segment: Segment) -> None:
        """Delete ``segment`` if all it holds is in the ledger (after reading it all)."""
        self._maybe_delete(segment)

    def next_segment(self, segment: Segment) -> Segment | None:
        """This process's segment created right after ``segment`` (None if it is the last)."""
        later = [s for s in self._segments if s.seq > segment.seq]
        return min(later, key=lambda s: s.seq) if later else None

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._roll()

    def _roll(self) -> None:
        if self._active is not None:
            self._active.active = False
            self._maybe_delete(self._active)
        name = f"spool-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        path = self.directory / name
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._seq += 1
        self._active = Segment(path, fd, seq=self._seq)
        self._segments.append(self._active)

    def close(self) -> None:
        """Release every segment; committed ones are deleted, others stay for replay."""
        for segment in list(self._segments):
            segment.active = False
            if not self._maybe_delete(segment):
                os.close(segment.fd)
        self._segments.clear()
        self._active = None

    # --- writing -----------------------------------------------------------------------

    def append(self, line: bytes) -> Segment | None:
        """Write one event line to the kernel; None when the disk refused it."""
        segment = self._active
        if segment is None:
            return None
        try:
            view = memoryview(line)
            while view:
                written = os.write(segment.fd, view)
                view = view[written:]
        except OSError as exc:
            log.error("cannot write to the spool %s: %s", segment.path, exc)
            return None
        segment.appended += 1
        segment.size += len(line)
        segment.dirty = True
        if segment.size >= self.rotate_bytes:
            self._roll()
        return segment

    def sync(self) -> None:
        """fsync every segment written since the last call (run in a thread)."""
        for segment in list(self._segments):
            if segment.dirty:
                segment.dirty = False
                try:
                    os.fsync(segment.fd)
                except OSError as exc:  # closed meanwhile, or the disk failed
                    log.warning("cannot fsync the spool %s: %s", segment.path, exc)

    def take_dirty(self) -> list[Segment]:
        """The segments written since the last call, for another process to fsync
        (`aifinops.gateway.ledger_process`); set ``dirty`` again if that failed."""
        dirty = [segment for segment in self._segments if segment.dirty]
        for segment in dirty:
            segment.dirty = False
        return dirty

    def committed(self, segment: Segment, count: int) -> None:
        segment.committed += count
        self._maybe_delete(segment)

    def _maybe_delete(self, segment: Segment) -> bool:
        if segment.active or segment.reading or segment.committed < segment.appended:
            return False
        segment.path.unlink(missing_ok=True)
        os.close(segment.fd)
        if segment in self._segments:
            self._segments.remove(segment)
        return True

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)
