"""Proving nothing was altered: the hash chain of the database, or of an export file.

Every event's hash covers its content and the hash of the event before it
(``crm/events/hashing.py``). Changing, removing or inserting a row therefore breaks
either that row's hash or the next row's link, and we name the first position where
that happens. An export file can be checked on its own, without our database: a
full export is a chain from its first event; a filtered one is checked event by event,
plus the link wherever two exported events are neighbours in the log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm.events import EventStore
from crm.events.hashing import GENESIS_HASH, hash_of, hash_with_data_text
from crm.events.store import last_position
from crm.progress import Update

PAGE = 5000

#: The fields of an exported event, with the JSON types each may have.
FIELDS: dict[str, tuple[type, ...]] = {
    "position": (int,), "id": (str,), "type": (str,), "stream": (str,),
    "occurred_at": (str,), "recorded_at": (str,), "actor": (str,),
    "idempotency_key": (str, type(None)), "data": (dict,), "prev_hash": (str,),
    "hash": (str,),
}



@dataclass(frozen=True)
class Problem:
    """The first thing that does not verify. ``line`` is set for export files."""

    position: int | None
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "no position"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.reason}"


@dataclass
class Verification:
    count: int = 0
    first_position: int | None = None
    last_position: int = 0
    head_hash: str = GENESIS_HASH
    #: Places where the positions jump (a filtered export); 0 for a full chain.
    gaps: int = 0
    #: Links checked between neighbouring events.
    links: int = 0
    problem: Problem | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def full_chain(self) -> bool:
        return self.gaps == 0 and self.first_position in (None, 1)


class ExportFileError(ValueError):
    """A line of an export file that is not an event; ``problem`` says where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# -- the database ---------------------------------------------------------------------

def verify_database(conn: sqlite3.Connection, progress: Update | None = None) -> Verification:
    """Recompute every hash and link up to the head as it was when we started."""
    result = Verification()
    store = EventStore.over(conn)
    result.warnings.extend(
        f"trigger {name} is missing: the database no longer refuses changes to events"
        for name in store.missing_guards())
    upto = last_position(conn)
    after, prev = 0, GENESIS_HASH
    while after < upto:
        rows = store.rows(after, upto, PAGE)
        for row in rows:
            problem = _check_row(row, after + 1, prev)
            if problem is not None:
                result.problem = problem
                return result
            after, prev = row[0], row[10]
            result.count += 1
        if progress is not None:
            progress(after, upto)
        if len(rows) < PAGE:
            break
    if result.count:
        result.first_position, result.last_position, result.head_hash = 1, after, prev
    if after < upto:  # rows missing at the end, below a head that is still there
        result.problem = Problem(after + 1, "missing")
    return result


def _check_row(row: tuple[Any, ...], expected: int, prev: str) -> Problem | None:
    position, id_, type_, stream, occurred, recorded, actor, key, data_text, prev_hash, digest \
        = row
    if position != expected:
        return Problem(expected, f"missing (the next position is {position})")
    if prev_hash != prev:
        return Problem(position, f"prev_hash is not the hash of position {position - 1}"
                                 + (" (was that row changed?)" if position > 1 else ""))
    # Hashing the stored text itself (not a re-encoding of it) also catches data
    # rewritten into an equivalent but different form: the bytes hashed are the bytes kept.
    computed = hash_with_data_text(prev_hash=prev_hash, position=position, id=id_,
                                   type=type_, stream=stream, occurred_at=occurred,
                                   recorded_at=recorded, actor=actor, idempotency_key=key,
                                   data_text=data_text)
    if computed != digest:
        return Problem(position, "hash does not match the content")
    return None


# -- export files ---------------------------------------------------------------------

def read_export(path: str | Path, progress: Update | None = None
                ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each line of a JSONL export as ``(line number, event as a dict)``;
    ``ExportFileError`` at the first line that is not exactly one event with every
    field. (Dicts, not ``RecordedEvent``: building those would double the time.)"""
    path = Path(path)
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            yield number, parse_line(raw, number)
            if progress is not None and number % 1000 == 0:
                progress(done, total)
    if progress is not None:
        progress(done, total)


def parse_line(raw: bytes, number: int) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ExportFileError(Problem(None, "not a line of JSON", number)) from None
    if type(value) is dict and value.keys() == _NAMES and _well_typed(value):
        return value
    raise ExportFileError(_shape_problem(value, number))


_NAMES = FIELDS.keys()
_TEXT_FIELDS = tuple(name for name, types in FIELDS.items() if types == (str,))


def _well_typed(value: dict[str, Any]) -> bool:
    """The common case, checked fast; ``_shape_problem`` says what is wrong otherwise."""
    key = value["idempotency_key"]
    return (type(value["position"]) is int and type(value["data"]) is dict
            and (key is None or type(key) is str)
            and all(type(value[name]) is str for name in _TEXT_FIELDS))


def _shape_problem(value: Any, number: int) -> Problem:
    if not isinstance(value, dict):
        return Problem(None, "not a JSON object", number)
    position = value.get("position")
    position = position if type(position) is int else None
    for name, types in FIELDS.items():
        if name not in value:
            return Problem(position, f"field {name} is missing", number)
        if not isinstance(value[name], types) or isinstance(value[name], bool):
            return Problem(position, f"field {name} has the wrong type", number)
    extra = sorted(set(value) - set(FIELDS))
    return Problem(position, f"unexpected field {extra[0]}", number)


def verify_export(path: str | Path, progress: Update | None = None,
                  full: bool = False) -> Verification:
    """Check an export file on its own. With ``full`` it must be the whole log from
    position 1 with no gap; otherwise gaps are allowed (a filtered export)."""
    result = Verification()
    prev_position, prev_hash = 0, GENESIS_HASH
    try:
        for number, event in read_export(path, progress):
            position = event["position"]
            if position <= prev_position:
                result.problem = Problem(
                    position, f"not after position {prev_position} (repeated or out of "
                              "order)", number)
                return result
            if hash_of(event) != event["hash"]:
                result.problem = Problem(position, "hash does not match the content", number)
                return result
            if position == prev_position + 1:
                if event["prev_hash"] != prev_hash:
                    before = f"position {prev_position}" if prev_position else "the genesis"
                    result.problem = Problem(
                        position, f"prev_hash is not the hash of {before}", number)
                    return result
                result.links += 1
            else:
                if full:
                    result.problem = Problem(prev_position + 1, "missing", number)
                    return result
                result.gaps += 1
            if result.first_position is None:
                result.first_position = position
            prev_position, prev_hash = position, event["hash"]
            result.count += 1
    except ExportFileError as exc:
        result.problem = exc.problem
        return result
    result.last_position, result.head_hash = prev_position, prev_hash
    return result
