"""The event log: the one source of truth everything else is derived from.

This package imports nothing else of ours: projections, the WhatsApp layer and the
API all build on it, never the other way round.
"""

from crm.events.database import Database
from crm.events.errors import EventStoreError, ImmutableEventError
from crm.events.model import (
    Event,
    NewEvent,
    RecordedEvent,
    epoch_seconds,
    event_class,
    event_type,
    format_time,
    parse_time,
    utcnow,
)
from crm.events.store import EventStore, open_connection
from crm.events.writer import GroupWriter

__all__ = [
    "Database",
    "Event",
    "EventStore",
    "EventStoreError",
    "ImmutableEventError",
    "GroupWriter",
    "NewEvent",
    "RecordedEvent",
    "event_class",
    "epoch_seconds",
    "event_type",
    "format_time",
    "open_connection",
    "parse_time",
    "utcnow",
]
