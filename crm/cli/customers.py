"""``crm customers sync`` (the Google Sheet) and ``crm customers import FILE.csv``.

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
