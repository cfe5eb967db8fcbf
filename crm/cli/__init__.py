"""The ``crm`` command. Each subcommand lives in its own module with a ``register``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from crm.config import ConfigError
from crm.private import set_umask

#: Modules that add subcommands; each has ``register(subparsers)``.
COMMANDS = (
    "crm.cli.serve",
    "crm.cli.replay",
    "crm.cli.users",
    "crm.cli.tokens",
    "crm.cli.audit",
    "crm.cli.customers",
    "crm.cli.simulate",
    "crm.cli.templates",
    "crm.cli.sandbox",
    "crm.cli.campaigns",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="Self-hosted WhatsApp team inbox")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    set_umask()  # before anything is written: every file of every command is private
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
