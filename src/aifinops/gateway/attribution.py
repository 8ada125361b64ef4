"""Attribution from the ``x-aifinops-*`` request headers, validated.

Headers: ``team``, ``feature``, ``customer``, ``request-id``, ``prompt-version``,
``unit`` and ``tag-<name>``; ``x-aifinops-key`` is the gateway key in pass-through
mode. Any other ``x-aifinops-`` header is an error (a typo must not pass silently).
A value is 1–200 characters of letters, digits and ``. _ : @ / + = # -``; a bad value
is a 400 naming the header. The key fixes the team (and the feature, when it has one):
a header that disagrees is a 400 too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aifinops.gateway.errors import Rejection
from aifinops.gateway.keys import KeyRecord
from aifinops.usage import Attribution

PREFIX = "x-aifinops-"
MAX_TAGS = 20
_VALUE = re.compile(r"[A-Za-z0-9._:@/+=#-]{1,200}", re.ASCII)
_TAG_NAME = re.compile(r"[a-z0-9_-]{1,64}", re.ASCII)
_FIELDS = {
    "team": "team",
    "feature": "feature",
    "customer": "customer_id",
    "prompt-version": "prompt_version",
    "unit": "unit_id",
}
_OTHER = frozenset({"request-id", "key"})


@dataclass(frozen=True, slots=True)
class Attributed:
    """The attribution of one request and what came with it."""

    attribution: Attribution
    request_id: str | None
    unattributed: bool


def valid_value(value: str) -> bool:
    """A header value (or key team/feature) the gateway accepts."""
    return _VALUE.fullmatch(value) is not None


def _bad(header: str, why: str) -> Rejection:
    return Rejection(400, "invalid_header", f"{header}: {why}", header)


def _check_value(header: str, value: str) -> str:
    if not _VALUE.fullmatch(value):
        raise _bad(
            header,
            f"invalid value {value[:40]!r}: use 1-200 characters of letters, digits "
            "and . _ : @ / + = # -",
        )
    return value


def parse_attribution(
    headers: dict[str, str],
    key: KeyRecord,
    required: tuple[str, ...] = (),
    required_mode: str = "reject",
) -> Attributed:
    """Validate the attribution headers; raise a 400 `Rejection` naming the header."""
    values: dict[str, str] = {}
    tags: dict[str, str] = {}
    request_id: str | None = None
    for name, value in headers.items():
        if not name.startswith(PREFIX):
            continue
        short = name[len(PREFIX) :]
        if short == "key":
            continue
        if short.startswith("tag-"):
            tag = short[4:]
            if not _TAG_NAME.fullmatch(tag):
                raise _bad(name, "tag names are 1-64 characters of a-z, 0-9, _ and -")
            tags[tag] = _check_value(name, value)
            if len(tags) > MAX_TAGS:
                raise _bad(name, f"at most {MAX_TAGS} x-aifinops-tag-* headers")
        elif short in _FIELDS:
            values[_FIELDS[short]] = _check_value(name, value)
        elif short in _OTHER:
            request_id = _check_value(name, value)
        else:
            known = ", ".join(PREFIX + n for n in (*_FIELDS, "request-id", "tag-NAME"))
            raise _bad(name, f"unknown attribution header (known: {known})")
    _apply_key(values, key)
    present = {short for short in _FIELDS if _FIELDS[short] in values}
    present |= {f"tag-{t}" for t in tags}
    if request_id is not None:
        present.add("request-id")
    missing = [r for r in required if r not in present]
    if missing and required_mode == "reject":
        header = PREFIX + missing[0]
        raise Rejection(
            400,
            "missing_tag",
            f"{header}: required header is missing (AIFINOPS_REQUIRED_TAGS)",
            header,
        )
    return Attributed(
        attribution=Attribution(api_key_id=key.key_id, tags=tags, **values),
        request_id=request_id,
        unattributed=bool(missing),
    )


def _apply_key(values: dict[str, str], key: KeyRecord) -> None:
    for field, fixed in (("team", key.team), ("feature", key.feature)):
        if fixed is None:
            continue
        sent = values.get(field)
        if sent is not None and sent != fixed:
            header = PREFIX + field
            raise _bad(
                header, f"this gateway key belongs to {field} {fixed!r}; it cannot be changed"
            )
        values[field] = fixed
