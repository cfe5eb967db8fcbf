"""A consistent copy of the live database while the server keeps serving.

SQLite's online backup API, in one step: it copies every page inside one read
transaction, so the copy is exactly the database as of one commit. Under WAL a reader
never blocks the writer, so the server goes on appending meanwhile. (Copying in small
steps would restart whenever another connection commits, and with a busy server might
never finish.) The copy is written beside its destination and renamed into place only
once complete, so a half-written backup never has the final name.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from crm.events.store import chain_head, open_connection
from crm.private import create_private


class BackupError(Exception):
    """The backup cannot be made (no database, destination exists, ...)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    events: int
    head_hash: str
    bytes: int
    seconds: float


def backup(db_path: str | Path, dest: str | Path, *, force: bool = False) -> BackupResult:
    db_path, dest = Path(db_path), Path(dest)
    if not db_path.exists():
        raise BackupError(f"no database at {db_path}")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory; name the backup file")
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists; choose another name or pass --force")
    if dest.resolve() == db_path.resolve():
        raise BackupError("the backup cannot replace the live database")
    partial = dest.with_name(f".{dest.name}.partial")
    started = time.perf_counter()
    source = open_connection(db_path, readonly=True)
    try:
        partial.unlink(missing_ok=True)
        os.close(create_private(partial, exclusive=True))  # SQLite keeps its mode
        target = sqlite3.connect(str(partial), isolation_level=None)
        try:
            source.backup(target)
            events, head_hash = chain_head(target)
        finally:
            target.close()
        _fsync(partial)
        os.replace(partial, dest)
        _fsync(dest.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return BackupResult(path=dest, events=events, head_hash=head_hash,
                        bytes=dest.stat().st_size, seconds=time.perf_counter() - started)


def _fsync(path: Path) -> None:
    """Make the file (or the directory entry) durable before we say it is done."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
