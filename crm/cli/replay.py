"""``crm replay [--check]``."""

from __future__ import annotations

import argparse
import sys

from crm.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("replay", help="rebuild every projection from the log")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into scratch tables and compare with the live ones")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crm.prepare import prepare_database
    from crm.progress import terminal_bar
    from crm.projections import default_projector
    from crm.projections.replay import check, rebuild

    settings = load_settings()
    prepare_database(settings)
    projector = default_projector(settings)
    if args.check:
        result = check(settings.db_path, projector, terminal_bar("check"))
        if result.identical:
            print(f"projections match the log up to position {result.position}")
            return 0
        print(f"projections differ from a rebuild up to position {result.position}:")
        for table, lines in result.differences.items():
            for line in lines:
                print(f"  {table}: {line}")
        return 1
    count = rebuild(settings.db_path, projector, terminal_bar("replay"))
    print(f"replayed {count} events into {len(projector.projections)} projections",
          file=sys.stderr)
    return 0
