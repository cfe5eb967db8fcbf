"""The sending side of a running server: the Graph client, the sender, read receipts.

``start`` and ``stop`` are called from the app's ``before_serving``/``after_serving``,
which keeps the ``Sending`` in its services. Every worker process gets a Graph client
and a ``Sender``; the sender's lease makes
only one of them send. Nothing here runs in ``crm replay``: the sender is started by
the server alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from crm.config import Settings
from crm.events import Database
from crm.events.sending import CHANNEL_STREAM, TemplatesFetched
from crm.jobs.lease import Lease
from crm.media.local import LocalMediaStore
from crm.projections import channel
from crm.sender.worker import Sender
from crm.whatsapp.errors import GraphError
from crm.whatsapp.graph import GraphClient

log = logging.getLogger("crm.sender")


def mode(settings: Settings) -> str:
    """``meta`` (an access token), ``sandbox`` (started by ``crm serve``) or ``off``."""
    token = settings.whatsapp_access_token
    if token is not None and token.get_secret_value():
        return "meta"
    return "sandbox" if settings.sandbox_started else "off"


@dataclass
class Sending:
    settings: Settings
    graph: GraphClient | None
    media: LocalMediaStore
    sender: Sender | None = None
    task: asyncio.Task[None] | None = None
    #: Fire-and-forget work (read receipts): kept so it is not garbage collected.
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    #: The newest inbound message marked read at Meta, per chat (not to mark it twice).
    marked: dict[str, str] = field(default_factory=dict)


def channel_fact(sending: Sending | None, conn: sqlite3.Connection) -> dict[str, Any]:
    """``/healthz``: can the WhatsApp channel send? (the same answer in every worker)"""
    fact = channel.health(conn)
    if sending is not None:
        fact["mode"] = mode(sending.settings)
        if fact["mode"] == "off":
            fact.update(ok=False, title="not configured", details=(
                "no WHATSAPP_ACCESS_TOKEN (with WHATSAPP_PHONE_NUMBER_ID) and no sandbox: "
                "messages are queued but not sent"))
    return {"channel": fact}


async def start(settings: Settings, db: Database, stopping: asyncio.Event) -> Sending:
    graph = GraphClient.from_settings(settings, connections=max(8, settings.send_concurrency))
    sending = Sending(settings, graph, LocalMediaStore.for_data_dir(settings.data_dir))
    if graph is not None:
        sending.sender = Sender(settings, db, graph, sending.media, Lease(db))
        db.writer.add_listener(_waker(asyncio.get_running_loop(), sending.sender))
        sending.task = asyncio.create_task(sending.sender.run(stopping), name="crm-sender")
    elif mode(settings) == "meta":
        log.error("WHATSAPP_PHONE_NUMBER_ID is not set: nothing can be sent")
    return sending


def _waker(loop: asyncio.AbstractEventLoop, sender: Sender) -> Any:
    """Wake the sender after each commit of this process (called on the writer thread)."""
    def wake(_position: int) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to wake
            loop.call_soon_threadsafe(sender.notify)
    return wake


async def stop(sending: Sending) -> None:
    if sending.sender is not None and sending.task is not None:
        sending.sender.closing.set()
        try:
            await asyncio.wait_for(sending.task, timeout=10)
        except (TimeoutError, asyncio.CancelledError):
            sending.task.cancel()
        sending.sender.lease.close()
    for task in list(sending.background):
        task.cancel()
    if sending.graph is not None:
        await sending.graph.aclose()


def spawn(sending: Sending, coroutine: Any) -> None:
    task = asyncio.create_task(coroutine)
    sending.background.add(task)
    task.add_done_callback(sending.background.discard)


async def mark_read(sending: Sending, phone: str, wamid: str) -> None:
    """Blue ticks at Meta for the chat's newest inbound message; failures only logged."""
    if sending.graph is None or sending.marked.get(phone) == wamid:
        return
    try:
        await sending.graph.mark_read(wamid)
        sending.marked[phone] = wamid
    except GraphError as exc:
        log.warning("could not mark %s read at WhatsApp: %s", wamid, exc)


async def send_typing(sending: Sending, wamid: str) -> None:
    """Meta's typing indicator on the customer's newest message; failures only logged."""
    if sending.graph is None:
        return
    try:
        await sending.graph.send_typing(wamid)
    except GraphError as exc:
        log.warning("could not send the typing indicator on %s: %s", wamid, exc)


async def refresh_templates(db: Database, graph: GraphClient, actor: str) -> int:
    """Fetch the account's templates and record them; returns how many."""
    templates = await graph.list_templates()
    await db.record([TemplatesFetched(templates=templates).new(CHANNEL_STREAM, actor=actor)])
    return len(templates)
