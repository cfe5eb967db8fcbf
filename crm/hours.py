"""Business hours: when the business is open, as ``CRM_BUSINESS_HOURS`` says.

``Mon-Fri 09:00-18:00, Sat 10:00-14:00``: comma-separated parts, each a day or a range
of days (``Mon``..``Sun``, wrapping: ``Fri-Mon``) and one or more ``HH:MM-HH:MM`` spans
(end after start; ``24:00`` is midnight at the end of the day). Times are wall-clock
times in ``CRM_TIMEZONE``; holidays (dates in that zone) are closed all day. An empty
setting means always open. Pure: no clock of its own, the caller says when.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class BadHours(ValueError):
    """``CRM_BUSINESS_HOURS`` (or ``CRM_TIMEZONE``) cannot be understood."""


def _minutes(hours: str, minutes: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        raise BadHours(f"{hours}:{minutes} is not a time of day")
    return h * 60 + m


def _days(text: str) -> list[int]:
    names = text.lower().split("-")
    if len(names) > 2 or any(n[:3] not in DAYS or len(n) < 3 for n in names):
        raise BadHours(f"{text!r} is not a day (Mon..Sun) or a range of days (Mon-Fri)")
    first, last = DAYS.index(names[0][:3]), DAYS.index(names[-1][:3])
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def parse_spans(text: str) -> dict[int, list[tuple[int, int]]]:
    """Weekday (0 = Monday) to its open spans in minutes since midnight."""
    spans: dict[int, list[tuple[int, int]]] = {}
    days: list[int] | None = None
    for token in text.replace(",", " ").split():
        found = _SPAN.match(token)
        if found is None:
            days = _days(token)
            continue
        if days is None:
            raise BadHours(f"{token} needs a day before it (Mon-Fri {token})")
        start, end = _minutes(*found.group(1, 2)), _minutes(*found.group(3, 4))
        if end <= start:
            raise BadHours(f"{token}: the end must be after the start")
        for day in days:
            spans.setdefault(day, []).append((start, end))
    if days is not None and not spans:
        raise BadHours(f"{text!r} names days but no hours (09:00-18:00)")
    return {day: sorted(found) for day, found in spans.items()}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadHours(f"{name!r} is not an IANA time zone (Europe/Berlin, UTC)") from None


@dataclass(frozen=True)
class BusinessHours:
    """Open spans per weekday in one zone, and the holidays."""

    spans: dict[int, list[tuple[int, int]]]
    tz: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    always: bool = False

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC",
              holidays: Iterable[date] = ()) -> BusinessHours:
        text = text.strip()
        return cls(parse_spans(text) if text else {}, zone(timezone), frozenset(holidays),
                   always=not text)

    def with_holidays(self, holidays: Iterable[date]) -> BusinessHours:
        return BusinessHours(self.spans, self.tz, frozenset(holidays), self.always)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def is_open(self, moment: datetime) -> bool:
        here = self.local(moment)
        if here.date() in self.holidays:
            return False
        if self.always:
            return True
        minute = here.hour * 60 + here.minute
        return any(start <= minute < end for start, end in self.spans.get(here.weekday(), ()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first moment at or after ``moment`` when the business is open (``moment``
        itself when open now); None if it never opens (no hours, or a year of holidays)."""
        if self.is_open(moment):
            return moment
        here = self.local(moment)
        for offset in range(370):
            day = here.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            if self.always:
                return datetime.combine(day, time(), self.tz)
            for start, _end in self.spans.get(day.weekday(), ()):
                opening = datetime.combine(day, time(start // 60, start % 60), self.tz)
                if opening > here:
                    return opening
        return None

    def day_bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        """The calendar day of ``moment`` in the business's zone: [start, end)."""
        day = self.local(moment).date()
        start = datetime.combine(day, time(), self.tz)
        return start, datetime.combine(day + timedelta(days=1), time(), self.tz)
