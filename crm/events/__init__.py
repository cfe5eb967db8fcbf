"""The event log: the one source of truth everything else is derived from.

This package imports nothing else of ours: projections, the WhatsApp layer and the
API all build on it, never the other way round. ``Recorder`` is the interface; the
SQLite backend is ``EventStore`` (sync, one connection) behind ``Database`` (async:
one writer thread, read-only readers).
"""

from crm.events.connection import Connection, immediate
from crm.events.database import Database
from crm.events.errors import (
    ChainBrokenError,
    CorruptStoreError,
    DuplicateEventError,
    EventStoreError,
    ImmutableEventError,
    StoreUnavailableError,
)
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
from crm.events.recorder import Recorder
from crm.events.results import AppendResult, Head
from crm.events.store import EventStore, open_connection
from crm.events.writer import GroupWriter

__all__ = [
    "AppendResult",
    "ChainBrokenError",
    "Connection",
    "immediate",
    "CorruptStoreError",
    "Database",
    "DuplicateEventError",
    "Event",
    "EventStore",
    "EventStoreError",
    "GroupWriter",
    "Head",
    "ImmutableEventError",
    "NewEvent",
    "RecordedEvent",
    "Recorder",
    "StoreUnavailableError",
    "epoch_seconds",
    "event_class",
    "event_type",
    "format_time",
    "open_connection",
    "parse_time",
    "utcnow",
]
