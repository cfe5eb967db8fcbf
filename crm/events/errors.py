"""Exceptions raised by the event log.

Every storage error is mapped to one of these at the store's edge, so no caller (and no
test) depends on which database holds the log.
"""


class EventStoreError(Exception):
    """Base class for every error the event log raises."""


class ImmutableEventError(EventStoreError):
    """Something tried to change or remove a recorded event."""


class DuplicateEventError(EventStoreError):
    """An event id (or, for verbatim imports, an idempotency key) is already recorded."""


class StoreUnavailableError(EventStoreError):
    """The database is busy past the timeout, locked, read-only or cannot be opened."""


class CorruptStoreError(EventStoreError):
    """The database file is damaged or is not a database."""


class ChainBrokenError(EventStoreError):
    """A recorded event's hash does not match its content or its predecessor."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason
