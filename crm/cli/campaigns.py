"""``crm campaigns create|start|pause|resume|cancel|show``: campaigns from the shell.

They write to the log of ``CRM_DATA_DIR`` like the API (the running server's campaign
worker does the sending); ``start`` and ``show --follow`` draw a progress bar until the
campaign ends. ``create`` takes the API's fields: ``--to FILE.csv`` (a Phone column),
``--label``, ``--attribute Column=Value``, ``--phone``, ``--var 1='{{name}}'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm.events import EventStore

ACTOR = "cli"
ENDED = ("done", "cancelled")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("campaigns", help="send a template to a list of customers")
    actions = parser.add_subparsers(dest="campaigns_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a draft (or scheduled) campaign")
    create.add_argument("name")
    create.add_argument("--template", required=True, help="the template's name")
    create.add_argument("--language", required=True, help="its language code, e.g. en")
    create.add_argument("--to", type=Path, help="a CSV file of recipients (a Phone column)")
    create.add_argument("--label", action="append", default=[], help="chats with this label")
    create.add_argument("--attribute", action="append", default=[], metavar="COLUMN=VALUE",
                        help="customers whose sheet column has this value")
    create.add_argument("--phone", action="append", default=[], help="one more recipient")
    create.add_argument("--var", action="append", default=[], metavar="N=TEXT",
                        help="a body variable: {{name}}, {{phone}}, {{attr:Column}}")
    create.add_argument("--schedule-at", help="start at this ISO time")
    create.add_argument("--rate", type=float, help="messages per second")
    create.set_defaults(run=run_create)
    for name, what in (("start", "start now and follow"), ("pause", "pause"),
                       ("resume", "resume"), ("cancel", "cancel"),
                       ("show", "print the campaign (--follow: until it ends)")):
        action = actions.add_parser(name, help=what)
        action.add_argument("id")
        if name in ("start", "show"):
            action.add_argument("--follow", action="store_true", default=name == "start",
                                help="draw a progress bar until the campaign ends")
            action.add_argument("--no-follow", dest="follow", action="store_false")
        action.set_defaults(run=run_action, action=name)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"crm: {what} must be KEY=VALUE, not {item!r}")
        found[key] = value
    return found


def run_create(args: argparse.Namespace) -> int:
    from crm.campaigns import audience, draft
    from crm.cli.users import with_store
    from crm.config import load_settings
    from crm.projections import templates

    settings = load_settings()
    body: dict[str, Any] = {
        "name": args.name, "template": {"name": args.template, "language": args.language},
        "audience": {"labels": args.label, "attributes": _pairs(args.attribute, "--attribute"),
                     "phones": args.phone},
        "variables": _pairs(args.var, "--var"), "schedule_at": args.schedule_at,
        "rate": args.rate}
    try:
        wanted = draft.parse(body)
        from_csv = (audience.csv_phones(args.to.read_bytes(), settings.customers_phone_column,
                                        settings.default_country_code) if args.to else None)
    except (draft.BadDraft, audience.BadAudience, OSError) as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 1

    def action(store: EventStore) -> int:
        try:
            template = draft.approved(templates.list_templates(store.conn, False),
                                      wanted.template)
        except draft.TemplateNotApproved as exc:
            print(f"crm: {exc}", file=sys.stderr)
            return 1
        found = audience.resolve(store.conn, wanted.audience, from_csv,
                                 settings.default_country_code)
        for line in found.rejected[:20]:
            print(f"crm: left out {line}", file=sys.stderr)
        if not found.phones:
            print("crm: the audience is empty", file=sys.stderr)
            return 1
        cid, events = draft.events(wanted, template.get("category"), found.phones, ACTOR, None)
        store.record(events)
        print(cid)
        print(f"crm: campaign {cid} created for {len(found.phones):,} recipients",
              file=sys.stderr)
        return 0

    return with_store(action)


def run_action(args: argparse.Namespace) -> int:
    from crm.campaigns.worker import start_key
    from crm.cli.users import with_store
    from crm.events.campaigns import (
        CampaignCancelled,
        CampaignPaused,
        CampaignResumed,
        CampaignStarted,
        campaign_stream,
    )
    from crm.projections import campaigns as view

    allowed = {"start": ("draft", "scheduled"), "pause": ("running",),
               "resume": ("paused",), "cancel": ("draft", "scheduled", "running", "paused"),
               "show": ()}[args.action]
    makers: dict[str, Any] = {"start": CampaignStarted, "pause": CampaignPaused,
                              "resume": CampaignResumed, "cancel": CampaignCancelled}

    def action(store: EventStore) -> int:
        found = view.get_campaign(store.conn, args.id)
        if found is None:
            print(f"crm: no campaign {args.id}", file=sys.stderr)
            return 1
        if args.action != "show":
            if found["state"] not in allowed:
                print(f"crm: the campaign is {found['state']}", file=sys.stderr)
                return 1
            store.record([makers[args.action](campaign_id=args.id).new(
                campaign_stream(args.id), actor=ACTOR,
                idempotency_key=start_key(args.id) if args.action == "start" else None)])
        if getattr(args, "follow", False):
            return _follow(store, args.id)
        print(json.dumps(view.get_campaign(store.conn, args.id), indent=2, ensure_ascii=False))
        return 0

    return with_store(action)


def _follow(store: EventStore, campaign_id: str) -> int:
    """A progress bar (on a terminal) of recipients dealt with, until the campaign ends."""
    from crm.progress import terminal_bar
    from crm.projections import campaigns as view

    update = terminal_bar("sending", unit="recipients")
    while True:
        found = view.get_campaign(store.conn, campaign_id)
        assert found is not None
        counts = found["counts"]
        dealt = counts["audience"] - counts["pending"] - counts["in_flight"]
        if update is not None:
            update(dealt, counts["audience"])
        if found["state"] in ENDED or found["state"] == "paused":
            break
        time.sleep(0.2)
    print(json.dumps({"id": campaign_id, "state": found["state"], "counts": counts,
                      "failures": found["failures"]}, ensure_ascii=False))
    return 0
