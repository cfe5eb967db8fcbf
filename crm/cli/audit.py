"""``crm export``, ``crm verify``, ``crm backup`` and ``crm import``.

Results go to stdout (the export itself when there is no ``--output``), messages to
stderr, and a progress bar to stderr only when it is a terminal. Exit 1 means the
check failed or the job was refused; 2 means the command line was wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crm.config import load_settings
from crm.private import create_private


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="write the log as JSONL (every event) or CSV "
                                           "(one row per message)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--phone", help="only this conversation")
    export.add_argument("--since", metavar="DATE", help="occurred at or after (ISO date/time)")
    export.add_argument("--until", metavar="DATE",
                        help="occurred before (a bare date includes that whole day)")
    export.add_argument("--type", metavar="T", help="only events of this type, e.g. "
                                                    "message.received")
    export.add_argument("--output", metavar="FILE", type=Path, help="default: stdout")
    export.set_defaults(run=run_export)

    verify = sub.add_parser("verify", help="recompute the hash chain of the log or of an "
                                           "export file")
    verify.add_argument("--export", metavar="FILE.jsonl", type=Path,
                        help="check this export file instead of the database")
    verify.add_argument("--full", action="store_true",
                        help="with --export: require the whole log, from position 1, no gap")
    verify.add_argument("--db", metavar="FILE", type=Path,
                        help="check this database file (a backup) instead of the live one")
    verify.set_defaults(run=run_verify)

    backup = sub.add_parser("backup", help="consistent copy of the database, while serving")
    backup.add_argument("file", metavar="FILE", type=Path)
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(run=run_backup)

    restore = sub.add_parser("import", help="rebuild an empty data folder from a JSONL export")
    restore.add_argument("file", metavar="FILE.jsonl", type=Path)
    restore.set_defaults(run=run_import)


def _fail(message: str, code: int = 1) -> int:
    print(f"crm: {message}", file=sys.stderr)
    return code


def run_export(args: argparse.Namespace) -> int:
    from crm.audit.export import begin, write_export
    from crm.audit.filters import FilterError, make_filters
    from crm.events.store import open_connection
    from crm.progress import terminal_bar

    try:
        filters = make_filters(args.phone, args.type, args.since, args.until)
    except FilterError as exc:
        return _fail(str(exc), 2)
    db_path = load_settings().db_path
    if not db_path.exists():
        return _fail(f"no database at {db_path}")
    conn = open_connection(db_path, readonly=True)
    try:
        spec = begin(conn, args.format, filters)
        progress = terminal_bar("export")
        if args.output is None:
            try:
                write_export(conn, spec, sys.stdout.buffer, progress)
                sys.stdout.flush()
            except BrokenPipeError:  # `crm export | head`: the reader had enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1
            return 0
        partial = args.output.with_name(f".{args.output.name}.partial")
        try:
            with os.fdopen(create_private(partial), "wb") as out:
                rows, written = write_export(conn, spec, out, progress)
            partial.replace(args.output)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        conn.close()
    what = "events" if args.format == "jsonl" else "messages"
    print(f"exported {rows} {what} up to position {spec.upto} to {args.output} "
          f"({written:,} bytes)", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from crm.audit.verify import verify_database, verify_export
    from crm.events.store import open_connection
    from crm.progress import terminal_bar

    if args.export is not None:
        if not args.export.is_file():
            return _fail(f"no export file at {args.export}")
        result = verify_export(args.export, terminal_bar("verify", "MB", 10**6), full=args.full)
        if not result.ok:
            print(f"FAILED at {result.problem}")
            return 1
        if result.full_chain:
            shape = "the whole log from position 1, verified as one chain"
        else:
            shape = (f"a filtered export with {result.gaps} gap(s): every hash verified, and "
                     f"{result.links} link(s) between neighbouring events")
        span = (f"positions {result.first_position}-{result.last_position}"
                if result.count else "no events")
        print(f"ok: {result.count} events ({span}), {shape}; last hash {result.head_hash}")
        return 0
    if args.full:
        return _fail("--full applies to --export", 2)
    db_path = args.db or load_settings().db_path
    if not db_path.exists():
        return _fail(f"no database at {db_path}")
    conn = open_connection(db_path, readonly=True)
    try:
        result = verify_database(conn, terminal_bar("verify"))
    finally:
        conn.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not result.ok:
        print(f"FAILED at {result.problem}")
        return 1
    print(f"ok: {result.count} events, head hash {result.head_hash}")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from crm.audit.backup import BackupError, backup

    try:
        result = backup(load_settings().db_path, args.file, force=args.force)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"backed up {result.events} events (head hash {result.head_hash}) to "
          f"{result.path}: {result.bytes:,} bytes in {result.seconds:.1f} s")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from crm.audit.importer import ImportRefused, import_export
    from crm.progress import terminal_bar
    from crm.projections import default_projector

    settings = load_settings()
    try:
        result = import_export(args.file, settings.db_path,
                               projector=default_projector(settings),
                               progress=terminal_bar("import", "MB", 10**6),
                               replay_progress=terminal_bar("replay"))
    except ImportRefused as exc:
        hint = (" (crm import takes a full, unaltered export: check one with "
                "crm verify --export FILE --full)") if exc.problem else ""
        return _fail(f"import refused: {exc}{hint}")
    print(f"imported {result.events} events (head hash {result.head_hash}) into "
          f"{settings.db_path}; projections rebuilt")
    return 0
