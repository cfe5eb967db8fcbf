"""``crm tokens create|list|revoke``: API tokens for scripts and integrations.

``create`` prints the token alone on standard output (so ``TOKEN=$(crm tokens create
bot)`` works) and everything else on standard error; only its SHA-256 is stored.
``revoke`` takes the token's id, the first column of ``crm tokens list``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from crm.cli.users import with_store

if TYPE_CHECKING:
    from crm.events import EventStore


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tokens", help="manage API tokens")
    tokens = parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")

    create = tokens.add_parser("create", help="create a token for an agent; prints it once")
    create.add_argument("agent")
    create.add_argument("--label", help="what the token is for (shown in the list)")
    create.add_argument("--expires", metavar="DURATION",
                        help="stop working after this long: 90d, 12h, 30m, 2w "
                             "(default: until revoked)")
    create.set_defaults(run=run_create)

    listing = tokens.add_parser("list", help="list tokens (id, agent, created, state and "
                                             "expiry, label)")
    listing.set_defaults(run=run_list)

    revoke = tokens.add_parser("revoke", help="revoke a token by its id (see list)")
    revoke.add_argument("id")
    revoke.set_defaults(run=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    from crm.auth import commands
    from crm.auth.tokens import parse_duration

    def action(store: EventStore) -> int:
        lifetime = parse_duration(args.expires) if args.expires else None
        event, token, token_id = commands.plan_token(store.conn, args.agent, args.label,
                                                     "system", lifetime)
        store.record([event])
        until = event.data.get("expires_at")
        print(f"crm: created token {token_id} for {event.data['agent']!r}"
              f"{f', valid until {until}' if until else ''}; "
              "it is shown only this once", file=sys.stderr)
        print(token, flush=True)
        return 0

    return with_store(action)


def run_list(args: argparse.Namespace) -> int:
    from crm.auth.tokens import now_text
    from crm.projections.agents import list_tokens

    now = now_text()

    def action(store: EventStore) -> int:
        rows = list_tokens(store.conn)
        if not rows:
            print("no tokens", file=sys.stderr)
            return 0
        width = max(len(r["agent"]) for r in rows)
        for row in rows:
            expires = row["expires_at"]
            if row["revoked_at"]:
                state = f"revoked {row['revoked_at']}"
            elif expires and expires <= now:
                state = f"expired {expires}"
            else:
                state = f"live until {expires}" if expires else "live (no expiry)"
            print(f"{row['id']}  {row['agent']:<{width}}  {row['created_at']}  {state}  "
                  f"{row['label'] or ''}".rstrip())
        return 0

    return with_store(action)


def run_revoke(args: argparse.Namespace) -> int:
    from crm.auth import commands
    from crm.auth.local import append_one

    def action(store: EventStore) -> int:
        append_one(store, lambda db: commands.plan_revoke(db, args.id, "system"))
        print(f"crm: revoked token {args.id}", file=sys.stderr)
        return 0

    return with_store(action)
