"""What an export selects: a conversation, an event type, a period.

The same filters come from CLI options and from API query parameters, so they are
parsed here once and turned into a SQL condition plus a time check done in Python
(times are compared as instants: ``...:05Z`` and ``...:05.5Z`` do not sort as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crm.events import parse_time
from crm.events.messages import chat_stream


class FilterError(ValueError):
    """A filter value that cannot be understood; the message names the filter."""


@dataclass(frozen=True)
class Filters:
    """``since`` is inclusive and ``until`` exclusive, both on ``occurred_at``."""

    phone: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def selection(self) -> dict[str, Any]:
        """Keyword arguments of ``EventStore.rows`` that select these events.

        A phone selects the conversation's stream and any other event whose data
        names that phone (``data.phone``), so nothing about the chat is left out.
        """
        selected: dict[str, Any] = {}
        if self.type:
            selected["types"] = (self.type,)
        if self.phone:
            selected["stream"] = chat_stream(self.phone)
            selected["field"] = ("phone", self.phone)
        return selected

    def in_period(self, occurred_at: str) -> bool:
        if self.since is None and self.until is None:
            return True
        moment = parse_time(occurred_at)
        if self.since is not None and moment < self.since:
            return False
        return not (self.until is not None and moment >= self.until)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time; no zone means UTC. With ``end_of_day`` a bare date
    means the midnight that ends it, so ``--until 2026-03-31`` includes March 31."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1) if end_of_day else day
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"not an ISO date or date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def make_filters(phone: str | None = None, type: str | None = None,
                 since: str | None = None, until: str | None = None) -> Filters:
    """Filters from strings as a user typed them (empty strings mean no filter)."""
    try:
        start = parse_moment(since) if since else None
    except FilterError as exc:
        raise FilterError(f"since: {exc}") from None
    try:
        end = parse_moment(until, end_of_day=True) if until else None
    except FilterError as exc:
        raise FilterError(f"until: {exc}") from None
    if start is not None and end is not None and end <= start:
        raise FilterError("until must be after since")
    return Filters(phone=phone or None, type=type or None, since=start, until=end)
