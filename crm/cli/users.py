"""``crm users add|list|disable|admin|passwd``: agents, managed from the server's shell.

Changes are events with the actor ``system`` and take effect at once in a running
server (they share the database). Passwords are asked twice on a terminal, or read
as one line from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from crm.config import load_settings

if TYPE_CHECKING:
    from crm.events import EventStore


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("users", help="manage agents (staff who sign in)")
    users = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = users.add_parser("add", help="create an agent")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true",
                     help="may manage agents and tokens and export the audit log")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password as one line from standard input")
    add.set_defaults(run=run_add)

    listing = users.add_parser("list", help="list agents")
    listing.set_defaults(run=run_list)

    disable = users.add_parser("disable", help="stop an agent signing in; ends their "
                                               "sessions and tokens")
    disable.add_argument("name")
    disable.set_defaults(run=run_disable)

    admin = users.add_parser("admin", help="make an agent admin (--on) or not (--off)")
    admin.add_argument("name")
    switch = admin.add_mutually_exclusive_group(required=True)
    switch.add_argument("--on", dest="admin", action="store_true")
    switch.add_argument("--off", dest="admin", action="store_false")
    admin.set_defaults(run=run_admin)

    passwd = users.add_parser("passwd", help="set an agent's password; ends their sessions")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password as one line from standard input")
    passwd.set_defaults(run=run_passwd)


class PasswordInputError(Exception):
    pass


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            raise PasswordInputError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise PasswordInputError("not a terminal: pass the password with --password-stdin")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise PasswordInputError("the two passwords differ")
    return first


def with_store(action: Callable[[EventStore], int]) -> int:
    """Run ``action`` on the log of ``CRM_DATA_DIR``; refusals become exit status 1."""
    from crm.auth.errors import AuthError
    from crm.auth.local import open_store
    from crm.prepare import prepare_database

    settings = load_settings()
    prepare_database(settings)
    try:
        with open_store(settings) as store:
            return action(store)
    except (AuthError, PasswordInputError) as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 1


def run_add(args: argparse.Namespace) -> int:
    from crm.auth import commands, passwords
    from crm.auth.local import append_one

    def action(store: EventStore) -> int:
        name = commands.normalise_name(args.name)
        commands.plan_add_agent(store.conn, name, "", args.admin, "system")  # fail fast
        hashed = passwords.hash_password(read_password(args.password_stdin))
        append_one(store, lambda db: commands.plan_add_agent(db, name, hashed, args.admin,
                                                             "system"))
        kind = "admin" if args.admin else "agent"
        print(f"crm: created {kind} {name!r}", file=sys.stderr)
        return 0

    return with_store(action)


def run_list(args: argparse.Namespace) -> int:
    from crm.projections.agents import list_agents

    def action(store: EventStore) -> int:
        rows = list_agents(store.conn)
        if not rows:
            print("no agents", file=sys.stderr)
            return 0
        width = max(len(r["name"]) for r in rows)
        for row in rows:
            flags = ", ".join(f for f, on in (("admin", row["admin"]),
                                                ("disabled", row["disabled"])) if on)
            print(f"{row['name']:<{width}}  {row['created_at']}  {flags}".rstrip())
        return 0

    return with_store(action)


def run_disable(args: argparse.Namespace) -> int:
    from crm.auth import commands
    from crm.auth.local import append_one

    def action(store: EventStore) -> int:
        append_one(store, lambda db: commands.plan_disable(db, args.name, "system"))
        print(f"crm: disabled {commands.normalise_name(args.name)!r}", file=sys.stderr)
        return 0

    return with_store(action)


def run_admin(args: argparse.Namespace) -> int:
    from crm.auth import commands
    from crm.events import immediate

    def action(store: EventStore) -> int:
        name = commands.normalise_name(args.name)
        with immediate(store.conn):  # checked and recorded in one transaction
            event = commands.plan_admin(store.conn, name, args.admin, "system")
            if event is not None:
                store.record([event])
        print(f"crm: {name!r} is {'an admin' if args.admin else 'not an admin'}"
              f"{'' if event is not None else ' (unchanged)'}", file=sys.stderr)
        return 0

    return with_store(action)


def run_passwd(args: argparse.Namespace) -> int:
    from crm.auth import commands, passwords
    from crm.auth.errors import UnknownAgent
    from crm.auth.local import append_one
    from crm.projections.agents import get_agent

    def action(store: EventStore) -> int:
        name = commands.normalise_name(args.name)
        if get_agent(store.conn, name) is None:
            raise UnknownAgent(f"no agent named {name!r}")
        hashed = passwords.hash_password(read_password(args.password_stdin))
        append_one(store, lambda db: commands.plan_password(db, name, hashed, "system"))
        print(f"crm: changed the password of {name!r}", file=sys.stderr)
        return 0

    return with_store(action)
