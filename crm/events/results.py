"""What an append answers: per event, its position and whether this append recorded it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Head(NamedTuple):
    """The log's last position and its hash: where the next event links on."""

    position: int
    hash: str


class AppendResult(list[int]):
    """The positions of one batch's events, in order, plus what became of each.

    A list of positions, so ``[position] = await db.record([event])`` reads as it always
    did; ``new[i]`` says whether event ``i`` was recorded by this append (False: its
    idempotency key was already there, and ``self[i]`` is the first event's position).
    A batch that failed as a whole has no positions and carries its ``error``: an
    ``EventStoreError`` from storage, or the exception its own data raised (say, a
    value JSON cannot hold).
    """

    __slots__ = ("new", "error")

    def __init__(self, positions: Iterable[int] = (), new: Iterable[bool] = (),
                 error: Exception | None = None) -> None:
        super().__init__(positions)
        self.new: tuple[bool, ...] = tuple(new)
        self.error = error

    @classmethod
    def failed(cls, error: Exception) -> AppendResult:
        return cls((), (), error)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def all_new(self) -> bool:
        """Every event of the batch was recorded now (none was already there)."""
        return self.error is None and all(self.new)

    def raise_for_error(self) -> AppendResult:
        if self.error is not None:
            raise self.error
        return self
