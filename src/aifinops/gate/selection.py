"""What one side of a gate compares: ledger traffic or an eval-run file.

A selection is written on the command line as either

- ``key=value[,key=value…]`` over the feature's ledger traffic, keys ``prompt_version``,
  ``model``, ``requested_model``, ``provider``, ``team``, ``customer_id``, ``route_reason``
  and ``tag.NAME`` (a tag the gateway recorded, e.g. ``tag.release=canary``); ``from``
  and ``to`` (dates) narrow the window of that side only; or
- ``eval:PATH`` (or a path ending ``.jsonl``/``.json`` that exists): an eval-run file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

LEDGER_KEYS: tuple[str, ...] = (
    "prompt_version",
    "model",
    "requested_model",
    "provider",
    "team",
    "customer_id",
    "route_reason",
)
_TAG = re.compile(r"^tag\.([A-Za-z0-9_.:-]{1,64})$")


class SelectionError(ValueError):
    """A selection that cannot be understood; the message names the part and the fix."""


@dataclass(frozen=True, slots=True)
class Selection:
    text: str
    path: Path | None = None
    filters: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    start: date | None = None
    end: date | None = None

    @property
    def is_eval(self) -> bool:
        return self.path is not None


def _date(key: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SelectionError(f"{key}={value!r} is not a date; write it as YYYY-MM-DD") from None


def _eval_selection(text: str) -> Selection | None:
    """The eval-file selection ``text`` names, if it names one."""
    if text.startswith("eval:"):
        path = Path(text[5:])
        if not path.is_file():
            raise SelectionError(f"eval file {path} does not exist; give the path of a JSONL run")
        return Selection(text=text, path=path)
    if "=" in text:
        return None
    path = Path(text)
    if path.suffix.lower() in (".jsonl", ".json") and path.is_file():
        return Selection(text=text, path=path)
    raise SelectionError(
        f"{text!r} is neither key=value pairs nor an existing eval file; write e.g. "
        "prompt_version=v3,model=claude-sonnet-4-5 or eval:run.jsonl"
    )


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise SelectionError(f"{part!r} is not key=value; write e.g. prompt_version=v3")
        if key in seen:
            raise SelectionError(f"{key} is given twice; give each key once")
        seen.add(key)
        pairs.append((key, value))
    return pairs


def parse_selection(text: str) -> Selection:
    """Parse one ``--baseline`` / ``--candidate`` value."""
    text = text.strip()
    if not text:
        raise SelectionError("is empty; give key=value pairs (e.g. prompt_version=v3) or eval:FILE")
    selection = _eval_selection(text)
    if selection is not None:
        return selection
    filters: dict[str, str] = {}
    tags: dict[str, str] = {}
    days: dict[str, date] = {}
    for key, value in _pairs(text):
        tag = _TAG.match(key)
        if key in LEDGER_KEYS:
            filters[key] = value
        elif tag:
            tags[tag.group(1)] = value
        elif key in ("from", "to"):
            days[key] = _date(key, value)
        else:
            raise SelectionError(
                f"unknown key {key!r}; use one of {', '.join(LEDGER_KEYS)}, tag.NAME, from, to"
            )
    start, end = days.get("from"), days.get("to")
    if start and end and end < start:
        raise SelectionError(f"to={end} is before from={start}; swap them")
    return Selection(
        text=text,
        filters=tuple(sorted(filters.items())),
        tags=tuple(sorted(tags.items())),
        start=start,
        end=end,
    )
