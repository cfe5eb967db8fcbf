"""The store interface: the only code that touches the ``events`` table implements it.

Modelled on the ``eventsourcing`` library's recorder: insert events, select events, the
head, and a cheap token that changes when another connection commits. Everything above
``crm/events`` talks to the log through this Protocol (or its async front,
``Database``), so a second backend is a new class that passes ``tests/store_contract``,
not a rewrite. Implementations are synchronous and bound to one connection, used by one
thread at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from crm.events.model import NewEvent, RecordedEvent
from crm.events.results import AppendResult, Head


class Recorder(Protocol):
    def append(self, batches: Sequence[Sequence[NewEvent]]) -> list[AppendResult]:
        """Record several independent batches in one transaction (one fsync).

        Each batch is atomic; one that cannot be recorded fails alone, its error in its
        ``AppendResult``. An event whose idempotency key is already recorded (or comes
        earlier in the group) is not recorded again: its result points at the first.
        """
        ...

    def record(self, events: Sequence[NewEvent]) -> AppendResult:
        """One batch; raises its error instead of returning it."""
        ...

    def find_by_key(self, idempotency_key: str) -> RecordedEvent | None: ...

    def get(self, position: int) -> RecordedEvent | None: ...

    def read_after(self, after: int = 0, limit: int = 1000, *,
                   types: Iterable[str] | None = None, stream: str | None = None,
                   upto: int | None = None) -> list[RecordedEvent]:
        """Events after ``after`` in log order, at most ``limit``, optionally only of
        some types, of one stream, or up to a position (inclusive)."""
        ...

    def iter_after(self, after: int = 0, *, types: Iterable[str] | None = None,
                   upto: int | None = None, stream: str | None = None,
                   page: int = 5000) -> Iterator[RecordedEvent]:
        """Every event after ``after``, paged so memory stays constant."""
        ...

    def head(self) -> Head: ...

    def last_position(self) -> int: ...

    def changes(self) -> int:
        """A number that changes whenever another connection commits: poll it to be
        told of other processes' appends without reading the table."""
        ...
