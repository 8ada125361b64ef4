"""The one record everything speaks: a model call as a `UsageEvent`.

`Usage` is the canonical token split with no overlaps:

- ``input_tokens``: uncached input only (Anthropic's meaning, not OpenAI's);
- ``cache_read_tokens``, ``cache_write_5m_tokens``, ``cache_write_1h_tokens``;
- ``output_tokens``: all billed output, reasoning included;
- ``reasoning_tokens``: an informational subset of ``output_tokens``, never billed again;
- ``web_search_requests``: a counted extra billed per request.

Total input is therefore ``input_tokens + cache_read_tokens + cache_write_*``.
Provider adapters (``aifinops.providers``) translate each wire format into this split.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import Any

PROVIDERS: tuple[str, ...] = ("anthropic", "openai", "bedrock")

TOKEN_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
)


class RecordError(ValueError):
    """A field of an input record is missing or invalid."""

    def __init__(self, field_name: str, reason: str, value: object = None) -> None:
        self.field = field_name
        self.reason = reason
        self.value = value
        super().__init__(f"{field_name}: {reason}")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call in the canonical, non-overlapping split."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0

    def __post_init__(self) -> None:
        for name in TOKEN_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise RecordError(name, f"must be an integer, got {value!r}", value)
            if value < 0:
                raise RecordError(name, f"must be zero or more, got {value}", value)
        _check_reasoning(self.reasoning_tokens, self.output_tokens)

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_input_tokens(self) -> int:
        """All input the model read: uncached, cache reads and cache writes."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, n) + getattr(other, n) for n in TOKEN_FIELDS))


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who and what a call was for."""

    team: str | None = None
    feature: str | None = None
    customer_id: str | None = None
    prompt_version: str | None = None
    unit_id: str | None = None
    api_key_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


ATTRIBUTION_FIELDS: tuple[str, ...] = (
    "team",
    "feature",
    "customer_id",
    "prompt_version",
    "unit_id",
    "api_key_id",
)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One model call: identity, what was called, attribution, usage, cost, shape, trust."""

    event_id: str
    ts: datetime
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)
    attribution: Attribution = field(default_factory=Attribution)
    request_id: str | None = None
    duration_ms: int | None = None
    ttft_ms: int | None = None
    requested_model: str | None = None
    endpoint: str | None = None
    service_tier: str | None = None
    batch: bool = False
    # cost: integer nano-USD, None when unknown (never a silent 0)
    list_cost_nusd: int | None = None
    effective_cost_nusd: int | None = None
    price_version: str | None = None
    # shape signals for waste detection (never content)
    max_tokens: int | None = None
    stop_reason: str | None = None
    system_tokens: int | None = None
    system_hash: str | None = None
    prefix_hash: str | None = None
    context_chunks: int | None = None
    status: int | None = None
    error_type: str | None = None
    # trust flags
    unpriced: bool = False
    usage_estimated: bool = False
    unattributed: bool = False
    route_reason: str | None = None
    guardrails: tuple[str, ...] = ()

    def with_cost(
        self,
        list_cost_nusd: int | None,
        effective_cost_nusd: int | None,
        price_version: str | None,
    ) -> UsageEvent:
        return replace(
            self,
            list_cost_nusd=list_cost_nusd,
            effective_cost_nusd=effective_cost_nusd,
            price_version=price_version,
            unpriced=list_cost_nusd is None,
        )


# --- flat records (canonical event files, JSONL/CSV) -----------------------------------

_EVENT_SCALARS: tuple[str, ...] = tuple(
    f.name
    for f in fields(UsageEvent)
    if f.name not in ("event_id", "ts", "provider", "model", "usage", "attribution", "guardrails")
)

_INT_FIELDS = frozenset(
    {"duration_ms", "ttft_ms", "max_tokens", "system_tokens", "context_chunks", "status"}
)
_BOOL_FIELDS = frozenset({"batch", "unpriced", "usage_estimated", "unattributed"})
_STR_FIELDS = frozenset(
    {
        "request_id",
        "requested_model",
        "endpoint",
        "service_tier",
        "price_version",
        "stop_reason",
        "system_hash",
        "prefix_hash",
        "error_type",
        "route_reason",
    }
)
_COST_FIELDS = frozenset({"list_cost_nusd", "effective_cost_nusd"})
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


def parse_ts(value: object, field_name: str = "ts") -> datetime:
    """Parse an ISO-8601 timestamp (or a date) into an aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(
                field_name,
                f"{value!r} is not an ISO-8601 timestamp (e.g. 2026-11-01T12:00:00Z)",
                value,
            ) from None
    else:
        raise RecordError(field_name, "is required (an ISO-8601 UTC timestamp)", value)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(name: str, value: object, *, default: int | None) -> int | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        raise RecordError(name, f"must be an integer, got {value!r}", value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        result = int(value.strip())
    else:
        raise RecordError(name, f"must be an integer, got {value!r}", value)
    return result


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise RecordError(name, f"must be true or false, got {value!r}", value)


def _as_str(name: str, value: object) -> str | None:
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value).strip()
    raise RecordError(name, f"must be a string, got {value!r}", value)


def derive_event_id(row: Mapping[str, Any]) -> str:
    """A stable id for a row that has none, so replaying a file adds nothing."""
    canonical = json.dumps(
        {k: row[k] for k in sorted(row) if k != "event_id"}, sort_keys=True, default=str
    )
    return "ev_" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _tags_of(raw: object) -> dict[str, str]:
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if _blank(raw):
        return {}
    raise RecordError("tags", "must be an object of string values", raw)


def _guardrails_of(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(g for g in raw.split(",") if g)
    if isinstance(raw, (list, tuple)):
        return tuple(str(g) for g in raw)
    return ()


#: What `flat_from_record` does with each field of a record, looked up once per key.
_TOKEN, _STR, _OPT_INT, _BOOL, _TAGS, _GUARDRAILS = range(6)
_KIND: dict[str, int] = {
    **dict.fromkeys(TOKEN_FIELDS, _TOKEN),
    **dict.fromkeys(ATTRIBUTION_FIELDS, _STR),
    **dict.fromkeys(_STR_FIELDS, _STR),
    **dict.fromkeys(_INT_FIELDS | _COST_FIELDS, _OPT_INT),
    **dict.fromkeys(_BOOL_FIELDS, _BOOL),
    "tags": _TAGS,
    "guardrails": _GUARDRAILS,
}
#: ``2026-10-05T12:34:56Z``: the common timestamp, read without `parse_ts`'s checks.
_ZULU_LEN = len("2026-10-05T12:34:56Z")

#: Every flat field of a canonical record, with its default. These are also the
#: ledger's event columns (plus ``details``).
FLAT_DEFAULTS: dict[str, Any] = {
    "event_id": None,
    "request_id": None,
    "ts": None,
    "duration_ms": None,
    "ttft_ms": None,
    "provider": None,
    "model": None,
    "requested_model": None,
    "endpoint": None,
    "service_tier": None,
    "batch": False,
    **dict.fromkeys(ATTRIBUTION_FIELDS),
    "tags": None,
    **dict.fromkeys(TOKEN_FIELDS, 0),
    "list_cost_nusd": None,
    "effective_cost_nusd": None,
    "price_version": None,
    "max_tokens": None,
    "stop_reason": None,
    "system_tokens": None,
    "system_hash": None,
    "prefix_hash": None,
    "context_chunks": None,
    "status": None,
    "error_type": None,
    "unpriced": False,
    "usage_estimated": False,
    "unattributed": False,
    "route_reason": None,
    "guardrails": None,
}


def _required_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(FLAT_DEFAULTS)
    ts = row.get("ts")
    if type(ts) is str and len(ts) == _ZULU_LEN and ts[-1] == "Z" and ts[10] == "T":
        try:  # the same aware UTC datetime as parse_ts gives, without its steps
            out["ts"] = datetime.fromisoformat(ts)
        except ValueError:
            out["ts"] = parse_ts(ts)  # raises its error
    else:
        out["ts"] = parse_ts(ts)
    provider = row.get("provider")
    provider = provider.strip() or None if type(provider) is str else _as_str("provider", provider)
    if provider is None:
        raise RecordError("provider", f"is required (one of {', '.join(PROVIDERS)})")
    out["provider"] = provider.lower()
    model = row.get("model")
    model = model.strip() or None if type(model) is str else _as_str("model", model)
    if model is None:
        raise RecordError("model", "is required (the model as billed, e.g. claude-sonnet-4-5)")
    out["model"] = model
    return out


def _check_reasoning(reasoning: int, output: int) -> None:
    if reasoning > output:
        raise RecordError(
            "reasoning_tokens",
            f"{reasoning} exceeds output_tokens ({output}); "
            "reasoning is a subset of output, not an addition to it",
            reasoning,
        )


def flat_from_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a flat canonical record (one JSONL object or CSV row) into typed fields.

    Returns every key of `FLAT_DEFAULTS`: ``ts`` an aware UTC datetime, counts ints,
    flags bools, ``tags`` a dict or None, ``guardrails`` a list or None. ``ts``,
    ``provider`` and ``model`` are required; token fields default to 0; ``event_id`` is
    derived from the row when absent; ``tag_<name>`` columns become tags; columns that
    are not fields are ignored. Raises `RecordError` naming the first bad field.
    One pass over the row's own keys: this is the import hot path.
    """
    out = _required_fields(row)
    tags: dict[str, str] = {}
    kinds = _KIND
    for key, value in row.items():
        kind = kinds.get(key)
        if kind == _STR:
            out[key] = value.strip() or None if type(value) is str else _as_str(key, value)
        elif kind == _TOKEN:
            count = value if type(value) is int else _as_int(key, value, default=0)
            if count is None or count < 0:
                raise RecordError(key, f"must be zero or more, got {value!r}", value)
            out[key] = count
        elif kind == _OPT_INT:
            out[key] = value if type(value) is int else _as_int(key, value, default=None)
        elif kind == _BOOL:
            out[key] = value if type(value) is bool else _as_bool(key, value)
        elif kind is None:
            if key.startswith("tag_") and not _blank(value):
                tags[key[4:]] = str(value)
        elif kind == _TAGS:
            tags = {**_tags_of(value), **tags}
        else:  # guardrails
            out["guardrails"] = list(_guardrails_of(value)) or None
    _check_reasoning(out["reasoning_tokens"], out["output_tokens"])
    out["tags"] = tags or None
    event_id = row.get("event_id")
    event_id = event_id.strip() if type(event_id) is str else _as_str("event_id", event_id)
    out["event_id"] = event_id or derive_event_id(row)
    return out


def event_from_flat(flat: Mapping[str, Any]) -> UsageEvent:
    """The `UsageEvent` of validated flat fields (see `flat_from_record`)."""
    return UsageEvent(
        event_id=flat["event_id"],
        ts=flat["ts"],
        provider=flat["provider"],
        model=flat["model"],
        usage=Usage(*(flat[n] for n in TOKEN_FIELDS)),
        attribution=Attribution(
            tags=flat["tags"] or {}, **{n: flat[n] for n in ATTRIBUTION_FIELDS}
        ),
        guardrails=tuple(flat["guardrails"] or ()),
        **{n: flat[n] for n in _EVENT_SCALARS},
    )


def event_from_record(row: Mapping[str, Any]) -> UsageEvent:
    """Build a `UsageEvent` from a flat canonical record; see `flat_from_record`."""
    return event_from_flat(flat_from_record(row))


def flat_from_event(event: UsageEvent) -> dict[str, Any]:
    """The flat fields of an event (the inverse of `event_from_flat`)."""
    out = {n: getattr(event, n) for n in _EVENT_SCALARS}
    out.update(event_id=event.event_id, ts=event.ts, provider=event.provider, model=event.model)
    out.update({n: getattr(event.usage, n) for n in TOKEN_FIELDS})
    out.update({n: getattr(event.attribution, n) for n in ATTRIBUTION_FIELDS})
    out["tags"] = dict(event.attribution.tags) or None
    out["guardrails"] = list(event.guardrails) or None
    return out


def event_to_record(event: UsageEvent) -> dict[str, Any]:
    """The flat canonical record of an event (inverse of `event_from_record`)."""
    out: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if f.name == "usage":
            out.update({n: getattr(value, n) for n in TOKEN_FIELDS})
        elif f.name == "attribution":
            out.update({n: getattr(value, n) for n in ATTRIBUTION_FIELDS})
            out.update({f"tag_{k}": v for k, v in sorted(value.tags.items())})
        elif f.name == "ts":
            out["ts"] = value.isoformat().replace("+00:00", "Z")
        elif f.name == "guardrails":
            out["guardrails"] = list(value)
        else:
            out[f.name] = value
    return out
