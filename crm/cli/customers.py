"""``crm customers sync`` (the Google Sheet) and ``crm customers import FILE.csv``;
``crm customers export [--format csv] [--output FILE]`` writes the contact list.

Both append ``customer.updated`` for new and changed rows only, print a summary and
every skipped row with its number, and exit 0 when the list was read (even with bad
rows: they are reported, the rest is kept), 1 when it could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from crm.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("customers", help="load the customer list (names for numbers)")
    actions = parser.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help="read the Google Sheet (GOOGLE_SHEET_ID or "
                                           "GOOGLE_SHEET_NAME) and record what changed")
    sync.set_defaults(run=run_sync)
    imp = actions.add_parser("import", help="read a CSV file with a header row and record "
                                            "what changed")
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=run_import)
    exp = actions.add_parser("export", help="write the contact list (everyone on the list "
                                            "and everyone who ever wrote) as CSV")
    exp.add_argument("--format", default="csv", choices=("csv",))
    exp.add_argument("--output", "-o", type=Path, default=None,
                     help="the file to write (private to you); standard output without")
    exp.set_defaults(run=run_export)


def _run(read: Callable[[], object]) -> int:
    from crm.auth.local import open_store
    from crm.customers.sources import SourceError
    from crm.customers.sync import sync_store
    from crm.prepare import prepare_database

    settings = load_settings()
    try:
        rows = read()
        prepare_database(settings)
        with open_store(settings) as store:
            report = sync_store(store, rows, settings)  # type: ignore[arg-type]
    except SourceError as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from crm.customers.sources import read_sheet

    return _run(lambda: read_sheet(load_settings()))


def run_import(args: argparse.Namespace) -> int:
    from crm.customers.sources import read_csv

    return _run(lambda: read_csv(args.file))


def run_export(args: argparse.Namespace) -> int:
    import os

    from crm.cli.users import with_store
    from crm.customers import export
    from crm.events import EventStore
    from crm.private import create_private
    from crm.projections.contacts import all_contacts, attribute_names
    from crm.projections.team_view import Scope

    def action(store: EventStore) -> int:
        names = attribute_names(store.conn)
        lines = export.lines(all_contacts(store.conn, Scope(agent="system")), names)
        if args.output is None:
            for line in lines:
                sys.stdout.write(line)
            return 0
        count = -1
        with os.fdopen(create_private(args.output), "wb") as out:
            for line in lines:
                out.write(line.encode("utf-8"))
                count += 1
        print(f"crm: {count} contacts written to {args.output}", file=sys.stderr)
        return 0

    return with_store(action)
