"""Restoring a JSONL export into an empty data folder: the same log, byte for byte.

Events are inserted verbatim (same positions, ids, times and hashes) through
``EventStore.import_events``, which checks every hash and link on the way in, so a
file that does not verify is refused at its first bad event. The projections are then
rebuilt by replay, the same code that rebuilds them on a live server. Everything is
written to a scratch file in the data folder and renamed to ``crm.db`` only when
complete: a failed import leaves the folder as it found it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from crm.audit.verify import ExportFileError, Problem, read_export
from crm.events import EventStore, RecordedEvent
from crm.events.errors import ChainBrokenError, DuplicateEventError
from crm.events.store import chain_head
from crm.private import ensure_private_dir
from crm.progress import Update
from crm.projections import Projector, default_projector
from crm.projections.replay import rebuild

BATCH = 5000


class ImportRefused(Exception):
    """The import cannot go ahead; nothing was written."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class ImportResult:
    events: int
    head_hash: str


def import_export(source: str | Path, db_path: str | Path, *,
                  projector: Projector | None = None, progress: Update | None = None,
                  replay_progress: Update | None = None) -> ImportResult:
    """Rebuild ``db_path`` (which must not exist yet) from a full JSONL export."""
    source, db_path = Path(source), Path(db_path)
    if not source.is_file():
        raise ImportRefused(f"no export file at {source}")
    if db_path.exists():
        raise ImportRefused(f"the data folder is not empty: {db_path} exists")
    projector = projector or default_projector()
    ensure_private_dir(db_path.parent)
    scratch = db_path.with_name(f".{db_path.stem}.import-{uuid.uuid4().hex[:8]}.db")
    try:
        count, head = _load(source, scratch, projector, progress)
        rebuild(scratch, projector, replay_progress)
        for suffix in ("-wal", "-journal"):
            if Path(f"{scratch}{suffix}").exists():  # every connection closed cleanly
                raise ImportRefused(f"{scratch}{suffix} was left behind; nothing imported")
        if db_path.exists():
            raise ImportRefused(f"{db_path} appeared during the import; nothing imported")
        scratch.replace(db_path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return ImportResult(events=count, head_hash=head)


def _load(source: Path, scratch: Path, projector: Projector,
          progress: Update | None) -> tuple[int, str]:
    store = EventStore(scratch)
    try:
        projector.create_schema(store.conn)
        batch: list[RecordedEvent] = []
        lines: dict[int, int] = {}
        count = 0
        try:
            for number, value in read_export(source, progress):
                event = RecordedEvent(**value)
                batch.append(event)
                lines[event.position] = number
                if len(batch) >= BATCH:
                    count += _insert(store, batch, lines)
                    batch, lines = [], {}
            if batch:
                count += _insert(store, batch, lines)
        except ExportFileError as exc:
            raise ImportRefused(f"the export does not verify at {exc.problem}",
                                exc.problem) from None
        return count, chain_head(store.conn)[1]
    finally:
        store.close()


def _insert(store: EventStore, batch: list[RecordedEvent], lines: dict[int, int]) -> int:
    try:
        return store.import_events(batch)
    except ChainBrokenError as exc:
        problem = Problem(exc.position, exc.reason, lines.get(exc.position))
        raise ImportRefused(f"the export does not verify at {problem}", problem) from None
    except DuplicateEventError as exc:  # a repeated id or idempotency key
        raise ImportRefused(f"the export repeats an event: {exc}") from None
