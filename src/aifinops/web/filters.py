"""The view of a page lives in its URL: ``?from=…&to=…&team=…&feature=…``.

The values go to the API as they are (the API validates them and its error, naming
the parameter, is what the page shows); only the defaults are decided here: this UTC
month so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from starlette.requests import Request

NAMES = ("from", "to", "team", "feature")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:200] or None


@dataclass(frozen=True, slots=True)
class View:
    start: str
    end: str
    team: str | None = None
    feature: str | None = None

    @classmethod
    def from_request(cls, request: Request, today: date | None = None) -> View:
        today = today or datetime.now(UTC).date()
        q = request.query_params
        start = _clean(q.get("from")) or today.replace(day=1).isoformat()
        end = _clean(q.get("to")) or max(today.isoformat(), start)
        return cls(
            start=start,
            end=end,
            team=_clean(q.get("team")),
            feature=_clean(q.get("feature")),
        )

    def query(self, **changes: str | None) -> str:
        """This view's query string with ``changes`` (team=…, feature=…), for links that
        keep the view."""
        values = {"from": self.start, "to": self.end, "team": self.team, "feature": self.feature}
        values.update(changes)
        return urlencode([(k, v) for k, v in values.items() if v])

    def api(self, *, with_feature: bool = False) -> dict[str, str | None]:
        """The API parameters of this view."""
        params: dict[str, str | None] = {"from": self.start, "to": self.end, "team": self.team}
        if with_feature:
            params["feature"] = self.feature
        return params
