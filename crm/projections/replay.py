"""Rebuilding projections from the log, and checking the live ones against a rebuild.

The rebuild runs in a scratch database file (no fsync, no journal) that attaches the
live database read-only for its events, so the server keeps serving meanwhile. The
rebuilt tables are then copied into the live file in short chunks under new names and
swapped in with one transaction that also applies whatever arrived in the meantime:
readers see the old tables or the new ones, never a mix.
"""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from crm.events.store import last_position, open_connection, read_after
from crm.progress import Update
from crm.projections import checkpoints
from crm.projections.base import Projection, Projector
from crm.projections.options import FoldOptions

PAGE = 5000
COPY_CHUNK = 250_000
#: Below this many events a second process costs more than it saves.
PARALLEL_FROM = 50_000


@dataclass
class CheckResult:
    position: int
    differences: dict[str, list[str]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.differences


def _scratch(db_path: Path, projector: Projector) -> tuple[sqlite3.Connection, Path]:
    path = db_path.with_name(f"{db_path.stem}.replay-{uuid.uuid4().hex[:8]}.db")
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    projector.create_schema(conn)
    # Secondary indexes mostly serve reads: the fold is faster without them, the
    # comparison does not need them, and the swap creates them on the live tables.
    # Those the handlers' own lookups need stay (``Projection.fold_indexes``).
    kept = projector.fold_indexes
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall():
        if name not in kept:
            conn.execute(f"DROP INDEX {name}")
    conn.execute("ATTACH DATABASE ? AS log", (f"file:{db_path.resolve()}?mode=ro",))
    return conn, path


def _fold(conn: sqlite3.Connection, projector: Projector, upto: int | None,
          progress: Update | None) -> int:
    """Apply every event (up to ``upto``) to the scratch tables; returns the last position."""
    total = upto if upto is not None else last_position(conn, schema="log")
    position = 0
    done = 0
    while True:
        events = read_after(conn, position, PAGE, schema="log")
        if upto is not None:
            events = [e for e in events if e.position <= upto]
        if not events:
            break
        projector.apply(events, conn)
        position = events[-1].position
        done += len(events)
        if progress:  # the bar throttles its own drawing
            progress(done, max(total, done))
        if len(events) < PAGE:
            break
    if progress:
        progress(done, max(total, done))
    return position


def rebuild(db_path: str | Path, projector: Projector, progress: Update | None = None,
            *, parallel_from: int = PARALLEL_FROM) -> int:
    """Rebuild every projection and swap it in atomically; returns the events replayed.

    From ``parallel_from`` events on, each replay group (``Projection.replay_group``)
    folds in a process of its own, so the two cores share the work.
    """
    db_path = Path(db_path)
    upto = _head(db_path)
    groups = _groups(projector) if upto >= parallel_from else [projector]
    paths: list[Path] = []
    try:
        if len(groups) == 1:
            paths.append(_build(db_path, projector, upto, progress))
        else:
            context = multiprocessing.get_context("spawn")  # no inherited threads or locks
            with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
                futures = [
                    pool.submit(_build_group, str(db_path), [p.name for p in group.projections],
                                upto, progress is not None and index == 0, projector.options)
                    for index, group in enumerate(groups)
                ]
                paths.extend(Path(f.result()) for f in futures)
        _swap(db_path, list(zip(paths, groups, strict=True)), projector, upto)
        return upto
    finally:
        for path in paths:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def _head(db_path: Path) -> int:
    conn = open_connection(db_path, readonly=True)
    try:
        return last_position(conn)
    finally:
        conn.close()


def _groups(projector: Projector) -> list[Projector]:
    """The projector split by replay group, heaviest (highest group number) first; one
    group only when the projections are not all registered ones (a worker process
    rebuilds its group from the registry by name)."""
    from crm.projections import PROJECTIONS

    registered = {p.name: p for p in PROJECTIONS}
    if any(registered.get(p.name) is not p for p in projector.projections):
        return [projector]
    numbers = sorted({p.replay_group for p in projector.projections}, reverse=True)
    return [Projector([p for p in projector.projections if p.replay_group == n],
                      projector.options) for n in numbers]


def _build(db_path: Path, projector: Projector, upto: int,
           progress: Update | None) -> Path:
    """Fold the log up to ``upto`` into a new scratch file; returns its path."""
    scratch, path = _scratch(db_path, projector)
    try:
        scratch.execute("BEGIN")
        _fold(scratch, projector, upto, progress)
        scratch.execute("COMMIT")
        scratch.execute("DETACH DATABASE log")
    finally:
        scratch.close()
    return path


def _build_group(db_path: str, names: list[str], upto: int, show_progress: bool,
                 options: FoldOptions) -> str:
    """``_build`` in a worker process, for the registered projections named."""
    from crm.progress import terminal_bar
    from crm.projections import PROJECTIONS

    projector = Projector([p for p in PROJECTIONS if p.name in names], options)
    progress = terminal_bar("replay") if show_progress else None
    return str(_build(Path(db_path), projector, upto, progress))


_CREATE_TABLE = re.compile(r'^CREATE TABLE\s+(IF NOT EXISTS\s+)?"?(\w+)"?', re.IGNORECASE)


_CREATE_VIRTUAL = re.compile(r'^CREATE VIRTUAL TABLE\s+(IF NOT EXISTS\s+)?"?(\w+)"?',
                             re.IGNORECASE)


_CREATE_INDEX = re.compile(
    r'^CREATE (UNIQUE )?INDEX\s+(IF NOT EXISTS\s+)?"?(\w+?)(__g\w+)?"?\s+ON\s+"?(\w+)"?',
    re.IGNORECASE)


def _swap(db_path: Path, builds: list[tuple[Path, Projector]], projector: Projector,
          built_to: int) -> None:
    """Copy the rebuilt tables in as ``<table>__new`` and swap them in atomically.

    The bulk copy and the index builds run in their own transactions, at
    ``synchronous=NORMAL`` (still corruption-safe in WAL mode: a power cut can only lose
    the half-built ``__new`` tables, which the next replay drops). The final swap is one
    short ``synchronous=FULL`` transaction. It records the code's version of every
    projection and the failures the rebuild counted.
    """
    live = open_connection(db_path)
    generation = uuid.uuid4().hex[:8]
    try:
        projector.create_schema(live)
        live.execute("PRAGMA synchronous=NORMAL")
        live.execute("PRAGMA cache_size=-65536")
        tables = projector.tables
        indexes = _indexes(live, projector)
        failures: dict[str, int] = {}
        for scratch_path, group in builds:
            live.execute("ATTACH DATABASE ? AS rb", (str(scratch_path),))
            ddl = dict(live.execute(
                "SELECT name, sql FROM rb.sqlite_master WHERE type = 'table'").fetchall())
            for table in group.tables:
                _copy(live, table, ddl[table])
            rebuilt = checkpoints.read(live, "rb")
            failures.update((p.name, rebuilt[p.name]["failures"]) for p in group.projections)
            live.execute("DETACH DATABASE rb")
        for sql in indexes:
            # Index names are unique per database: the new generation gets its own.
            live.execute(_CREATE_INDEX.sub(
                lambda m: f'CREATE {m.group(1) or ""}INDEX main."{m.group(3)}__g{generation}" '
                          f'ON "{m.group(5)}__new"', sql, count=1))
        live.execute("PRAGMA synchronous=FULL")
        live.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                # IF EXISTS: a new version may bring a table the old one did not have.
                live.execute(f"DROP TABLE IF EXISTS main.{table}")
                live.execute(f"ALTER TABLE main.{table}__new RENAME TO {table}")
            live.executemany(
                "UPDATE checkpoints SET position = ?, version = ?, failures = ? WHERE name = ?",
                [(built_to, p.version, failures[p.name], p.name)
                 for p in projector.projections])
            # Whatever the server appended while we rebuilt, applied to the new tables.
            while True:
                events = read_after(live, built_to, PAGE)
                if not events:
                    break
                projector.apply(events, live)
                built_to = events[-1].position
            live.execute("COMMIT")
        except BaseException:
            live.execute("ROLLBACK")
            raise
    finally:
        live.close()


def _indexes(live: sqlite3.Connection, projector: Projector) -> list[str]:
    """The index DDL for the rebuilt tables: the live ones (by then under generated
    names) for a projection at the code's version, its schema's for one at another
    version (the old indexes may name columns the new tables do not have)."""
    stored = checkpoints.read(live)
    found: list[str] = []
    for projection in projector.projections:
        if stored[projection.name]["version"] != projection.version:
            found.extend(_schema_indexes(projection))
            continue
        marks = ",".join("?" * len(projection.tables))
        found.extend(sql for (sql,) in live.execute(
            "SELECT sql FROM main.sqlite_master WHERE type = 'index' "
            f"AND sql IS NOT NULL AND tbl_name IN ({marks})", projection.tables))
    return found


def _schema_indexes(projection: Projection) -> list[str]:
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.executescript(projection.schema)
        return [sql for (sql,) in scratch.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    finally:
        scratch.close()


def _copy(live: sqlite3.Connection, table: str, ddl: str) -> None:
    """Copy ``rb.<table>`` into a fresh ``main.<table>__new``, in rowid ranges: chunks,
    so the server's writer is never held up for long; large ones, because every commit
    rewrites the pages of the random-keyed unique indexes."""
    new = f"{table}__new"
    live.execute(f"DROP TABLE IF EXISTS main.{new}")
    virtual = _CREATE_VIRTUAL.match(ddl)
    if virtual:
        live.execute(_CREATE_VIRTUAL.sub(f'CREATE VIRTUAL TABLE main."{new}"', ddl, count=1))
    else:
        live.execute(_CREATE_TABLE.sub(f'CREATE TABLE main."{new}"', ddl, count=1))
    # A virtual table (a full-text index) is filled through its columns and rowid,
    # which ``SELECT *`` leaves out: the index is built again as it is filled.
    columns = ", ".join(f'"{c[1]}"' for c in live.execute(f"PRAGMA rb.table_info({table})"))
    fill = (f"INSERT INTO main.{new} (rowid, {columns}) SELECT rowid, {columns} "
            f"FROM rb.{table}" if virtual else f"INSERT INTO main.{new} SELECT * FROM rb.{table}")
    top = live.execute(f"SELECT max(rowid) FROM rb.{table}").fetchone()[0] or 0
    for low in range(0, top, COPY_CHUNK):
        live.execute("BEGIN IMMEDIATE")
        live.execute(f"{fill} WHERE rowid > ? AND rowid <= ?", (low, low + COPY_CHUNK))
        live.execute("COMMIT")


def check(db_path: str | Path, projector: Projector,
          progress: Update | None = None, max_rows: int = 20) -> CheckResult:
    """Rebuild into scratch tables and compare them row by row with the live ones,
    all inside one snapshot of the live database; and each projection's stored
    version with the code's, its counted failures with the rebuild's."""
    db_path = Path(db_path)
    scratch, scratch_path = _scratch(db_path, projector)
    try:
        scratch.execute("BEGIN")
        stored = checkpoints.read(scratch, "log")
        upto = max((s["checkpoint"] for s in stored.values()), default=0)
        result = CheckResult(position=upto)
        notes = [f"{n} at {s['checkpoint']}, others at {upto}"
                 for n, s in stored.items() if s["checkpoint"] != upto]
        _fold(scratch, projector, upto, progress)
        rebuilt = checkpoints.read(scratch)
        compared = list(projector.tables)
        for projection in projector.projections:
            live = stored.get(projection.name)
            if live is None:
                continue
            if live["version"] != projection.version:
                # Another version's tables: not comparable row by row (nor column).
                notes.append(f"{projection.name} at version {live['version']}, "
                             f"the code's is {projection.version}")
                compared = [t for t in compared if t not in projection.tables]
            if live["failures"] != rebuilt[projection.name]["failures"]:
                notes.append(f"{projection.name} counted {live['failures']} failed events, "
                             f"a rebuild {rebuilt[projection.name]['failures']}")
        if notes:
            result.differences["checkpoints"] = notes
        for table in compared:
            diffs: list[str] = []
            for label, left, right in (("only live", "log", "main"),
                                       ("only rebuilt", "main", "log")):
                rows = scratch.execute(
                    f"SELECT * FROM {left}.{table} EXCEPT SELECT * FROM {right}.{table} "
                    f"LIMIT {max_rows}").fetchall()
                diffs.extend(f"{label}: {row!r}" for row in rows)
            if diffs:
                result.differences[table] = diffs
        scratch.execute("COMMIT")
        return result
    finally:
        scratch.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{scratch_path}{suffix}").unlink(missing_ok=True)
