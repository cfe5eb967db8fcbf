"""``crm templates refresh``: fetch the account's message templates into the log.

Uses the configured account (``WHATSAPP_ACCESS_TOKEN``, ``WHATSAPP_WABA_ID``) or the
sandbox of a running ``crm serve``. The server also fetches them on first use and on
``POST /api/templates/refresh``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.events import EventStore
    from crm.whatsapp.graph import GraphClient


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("templates", help="WhatsApp message templates")
    actions = parser.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    refresh = actions.add_parser("refresh", help="fetch the templates from the Graph API")
    refresh.set_defaults(run=run_refresh)


def _client() -> GraphClient | None:
    from crm.config import load_settings
    from crm.sandbox.launcher import running_url, sandbox_settings
    from crm.whatsapp.graph import GraphClient

    settings = load_settings()
    graph = GraphClient.from_settings(settings)
    if graph is None and settings.sandbox == "auto":
        url = running_url(settings.data_dir)
        if url is not None:
            graph = GraphClient.from_settings(sandbox_settings(settings, url))
    return graph


async def _fetch(graph: GraphClient) -> list[dict]:
    try:
        return await graph.list_templates()
    finally:
        await graph.aclose()


def run_refresh(args: argparse.Namespace) -> int:
    from crm.cli.users import with_store
    from crm.events.sending import CHANNEL_STREAM, TemplatesFetched
    from crm.whatsapp.errors import GraphError

    graph = _client()
    if graph is None:
        print("crm: no WhatsApp account configured (WHATSAPP_ACCESS_TOKEN, "
              "WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID) and no sandbox running",
              file=sys.stderr)
        return 1
    try:
        templates = asyncio.run(_fetch(graph))
    except GraphError as exc:
        print(f"crm: the Graph API refused: {exc}", file=sys.stderr)
        return 1

    def action(store: EventStore) -> int:
        store.record([TemplatesFetched(templates=templates).new(CHANNEL_STREAM)])
        approved = sum(1 for t in templates if str(t.get("status")).upper() == "APPROVED")
        print(f"crm: {len(templates)} templates fetched ({approved} approved)", file=sys.stderr)
        return 0

    return with_store(action)
