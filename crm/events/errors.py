"""Exceptions raised by the event log."""


class EventStoreError(Exception):
    """Base class for every error the event log raises."""


class ImmutableEventError(EventStoreError):
    """Something tried to change or remove a recorded event."""


class ChainBrokenError(EventStoreError):
    """A recorded event's hash does not match its content or its predecessor."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason
