"""The sender: takes queued messages from the log and delivers them to Meta.

It is not a projection: it has side effects, so it never runs during replay, and
it keeps its own checkpoint and lease (``crm.jobs.lease``). Per chat, one message
at a time in log order (WhatsApp does not keep the order of concurrent sends);
chats in parallel up to ``CRM_SEND_CONCURRENCY``.

Each attempt is recorded as ``message.dispatching`` *before* the request leaves, with
an idempotency key naming the request and attempt: if two processes ever believed
they held the lease, only one of them can record the attempt, and only that one
sends. Transient errors are retried with exponential backoff and jitter; permanent
ones fail the message at once with Meta's code, title and details.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from crm.config import Settings
from crm.events import Database, NewEvent
from crm.events.messages import MessageFailed, MessageFateUnknown, MessageSent, chat_stream
from crm.events.sending import CHANNEL_STREAM, ChannelHealth, MessageDispatching, MessageRetrying
from crm.jobs.backoff import backoff
from crm.jobs.lease import RENEW_EVERY, Lease
from crm.media.local import LocalMediaStore
from crm.projections import channel, identities
from crm.sender import outbox
from crm.sender.outbox import Request
from crm.whatsapp import outbound
from crm.whatsapp.errors import GraphError
from crm.whatsapp.graph import GraphClient

log = logging.getLogger("crm.sender")

#: How often a process that does not hold the lease tries to take it, and how often
#: the holder looks for requests another process appended (its own wake it at once).
TAKEOVER_EVERY = 2.0
POLL_EVERY = 0.05
#: Under load every commit wakes the holder; it reads the log at most this often then
#: (the first wake after a quiet spell reads at once, so latency does not suffer).
MIN_READ_GAP = 0.01
#: At shutdown, how long requests already in flight may take to finish.
SHUTDOWN_GRACE = 3.0

UNKNOWN_REASON = ("the server stopped while this message was being sent: it may or may "
                  "not have reached WhatsApp, so it was not sent again on its own")
AMBIGUOUS_REASON = ("WhatsApp did not answer in time (or the connection dropped) after the "
                    "request was sent: it may or may not have been delivered")


class Sender:
    def __init__(self, settings: Settings, db: Database, graph: GraphClient,
                 media: LocalMediaStore, lease: Lease) -> None:
        self.settings = settings
        self.db = db
        self.graph = graph
        self.media = media
        self.lease = lease
        self.wake = asyncio.Event()
        #: Set by ``stop``: the server is shutting down.
        self.closing = asyncio.Event()
        #: Set while stepping down, or when a chat's task met an unexpected error.
        self._halt = asyncio.Event()
        self._queues: dict[str, deque[Request]] = {}
        self._chats: dict[str, asyncio.Task[None]] = {}
        self._open: dict[int, str] = {}  # request position -> message id
        self._slots = asyncio.Semaphore(settings.send_concurrency)
        #: Campaign sends also take one of these: a quarter of the slots (at least one)
        #: stays free for agents' replies, which never wait behind a campaign.
        self._bulk = asyncio.Semaphore(max(1, settings.send_concurrency
                                           - max(1, settings.send_concurrency // 4)))
        self._tail = 0
        self._healthy = True
        self._flagged: int | None = None
        self.leading = False

    def notify(self, _position: int = 0) -> None:
        """Something was appended in this process (called from any thread via the loop)."""
        self.wake.set()

    # -- leadership ------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        while not (stopping.is_set() or self.closing.is_set()):
            try:
                if await self.lease.acquire():
                    await self._lead(stopping)
            except Exception:
                log.exception("the sender failed; it starts again")
            finally:
                await self._step_down()
            await _wait_any((stopping, self.closing), TAKEOVER_EVERY)

    async def _lead(self, stopping: asyncio.Event) -> None:
        self.leading = True
        start = await self.lease.checkpoint()
        pending, in_flight, self._tail = await self.db.read(outbox.scan, start)
        self._healthy = (await self.db.read(channel.health))["ok"]
        if in_flight:
            log.warning("%d message(s) were in flight when the sender last stopped: their "
                        "fate is unknown and they are not sent again", len(in_flight))
            await self.db.record([MessageFateUnknown(
                message_id=r.message_id, phone=r.phone, reason=UNKNOWN_REASON,
            ).new(chat_stream(r.phone), actor=r.actor) for r in in_flight])
        for request in pending:
            self._enqueue(request)
        renew_at = time.monotonic() + RENEW_EVERY
        last_read = 0.0
        while not (stopping.is_set() or self.closing.is_set() or self._halt.is_set()):
            await _wait_any((self.wake, stopping, self.closing, self._halt),
                            max(0.0, min(POLL_EVERY, renew_at - time.monotonic())))
            self.wake.clear()
            if time.monotonic() >= renew_at:
                if not await self.lease.renew(self.checkpoint(), idle=not self._open):
                    log.warning("the sender lost its lease; another process sends now")
                    return
                renew_at = time.monotonic() + RENEW_EVERY
                self._kick()
            gap = last_read + MIN_READ_GAP - time.monotonic()
            if gap > 0:
                await _wait_any((stopping, self.closing, self._halt), gap)
            last_read = time.monotonic()
            # With the new requests, the projected health: a webhook may have raised the
            # flag (an account-level error Meta reported asynchronously).
            requests, self._tail, self._healthy = await self.db.read(outbox.new_requests,
                                                                     self._tail)
            for request in requests:
                self._enqueue(request)

    async def _step_down(self) -> None:
        """Finish what is in flight (briefly), stop the rest, save the checkpoint."""
        if not self.leading:
            return
        self.leading = False
        self._halt.set()
        tasks = list(self._chats.values())
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        checkpoint = self.checkpoint()
        self._queues.clear()
        self._chats.clear()
        self._open.clear()
        with contextlib.suppress(Exception):
            await self.lease.release(checkpoint)
        self._halt.clear()

    def checkpoint(self) -> int:
        """Every request at or before this position is resolved."""
        if self._open:
            return min(self._open) - 1
        return self._tail

    # -- per chat --------------------------------------------------------------------

    def _enqueue(self, request: Request) -> None:
        if request.position in self._open:
            return
        self._open[request.position] = request.message_id
        self._queues.setdefault(request.phone, deque()).append(request)
        self._start(request.phone)

    def _start(self, phone: str) -> None:
        if phone not in self._chats:
            self._chats[phone] = asyncio.create_task(self._drain(phone), name=f"send:{phone}")

    def _kick(self) -> None:
        """Restart chats whose task stopped while the lease was briefly in doubt."""
        for phone in list(self._queues):
            self._start(phone)

    def _stopping(self) -> bool:
        return self.closing.is_set() or self._halt.is_set() or not self.lease.valid()

    async def _drain(self, phone: str) -> None:
        queue = self._queues[phone]
        try:
            while queue and not self._stopping():
                request = queue[0]
                try:
                    resolved = await self._deliver(request)
                except Exception:
                    # Perhaps sent but not recorded: never try again in this leadership.
                    # Stepping down and up rescans the log; a dispatched attempt with
                    # no outcome then becomes ``unknown``.
                    log.exception("sending message %s failed unexpectedly",
                                  request.message_id)
                    self._halt.set()
                    return
                if not resolved:
                    return  # stopping: the request stays open for the next holder
                queue.popleft()
                self._open.pop(request.position, None)
        finally:
            if self._chats.get(phone) is asyncio.current_task():
                del self._chats[phone]
            if not queue:
                self._queues.pop(phone, None)

    async def _deliver(self, request: Request) -> bool:
        """Send one request to its end; False if it was left for a later process."""
        attempt = request.attempts
        ambiguous = 0
        bulk = bool(request.data.get("campaign"))
        media_id: str | None = None
        while True:
            if self._stopping():
                return False
            attempt += 1
            sending = False  # only a failed send (not an upload) may have reached the customer
            try:
                async with self._bulk if bulk else _FREE, self._slots:
                    if request.data.get("media") and media_id is None:
                        media_id = await self._upload(request)
                    payload = outbound.message_payload(
                        request.data, media_id=media_id,
                        reply_wamid=await self._reply_wamid(request),
                        address=await self.db.read(identities.address, request.phone))
                    if not await self._dispatching(request, attempt):
                        return True  # another process owns this attempt
                    sending = True
                    wamid = await self.graph.send_message(payload)
                    await self._append(request, MessageSent(
                        message_id=request.message_id, phone=request.phone, wamid=wamid,
                        attempts=attempt, ambiguous_attempts=ambiguous))
                await self._health(None)
                return True
            except GraphError as error:
                await self._health(error)
                ambiguous += sending and error.ambiguous
                # A campaign message that may have reached Meta is never sent again: the
                # recipient would get it twice (an agent decides, as for an unknown fate).
                again = not (bulk and ambiguous)
                if error.transient and again and attempt < self.settings.send_attempts:
                    delay = backoff(attempt, self.settings.send_retry_base,
                                    self.settings.send_retry_max)
                    log.info("message %s: %s; again in %.2fs", request.message_id, error, delay)
                    await self._append(request, MessageRetrying(
                        message_id=request.message_id, phone=request.phone,
                        request=request.position, attempt=attempt, delay=round(delay, 3),
                        error=error.as_dict()))
                    await _wait_any((self.closing, self._halt), delay)
                    continue
                await self._give_up(request, error, attempt, ambiguous)
                return True
            except (FileNotFoundError, ValueError) as exc:
                await self._append(request, MessageFailed(
                    message_id=request.message_id, phone=request.phone,
                    error={"code": None, "title": "cannot be sent", "details": str(exc),
                           "attempts": attempt}))
                return True

    async def _give_up(self, request: Request, error: GraphError, attempt: int,
                       ambiguous: int) -> None:
        if ambiguous:
            event: Any = MessageFateUnknown(
                message_id=request.message_id, phone=request.phone,
                reason=f"{AMBIGUOUS_REASON} (last error: {error})", attempts=attempt)
        else:
            event = MessageFailed(message_id=request.message_id, phone=request.phone,
                                  error={**error.as_dict(), "attempts": attempt})
        log.warning("message %s not sent: %s", request.message_id, error)
        await self._append(request, event)

    async def _upload(self, request: Request) -> str:
        media = request.data["media"]
        content = await asyncio.to_thread(self.media.read, media["sha256"])
        return await self.graph.upload_media(content, media["mime_type"],
                                             media.get("filename") or "file")

    async def _reply_wamid(self, request: Request) -> str | None:
        reply_to = request.data.get("reply_to")
        if not reply_to:
            return None
        return await self.db.read(outbox.wamid_of, reply_to)

    async def _dispatching(self, request: Request, attempt: int) -> bool:
        """Record the attempt; False if this attempt is already someone else's."""
        event = MessageDispatching(
            message_id=request.message_id, phone=request.phone, request=request.position,
            attempt=attempt,
        ).new(chat_stream(request.phone), actor=request.actor,
              idempotency_key=f"dispatch:{request.message_id}:{request.position}:{attempt}")
        return (await self.db.record([event])).new[0]

    async def _append(self, request: Request, payload: Any) -> None:
        await self.db.record([payload.new(chat_stream(request.phone), actor=request.actor)])

    async def _health(self, error: GraphError | None) -> None:
        """Raise the channel's flag on an account-level error; lower it on a success."""
        if error is None:
            if self._healthy:
                return
            self._healthy = True
            event: NewEvent = ChannelHealth(ok=True).new(CHANNEL_STREAM)
        elif error.account_level:
            if not self._healthy and self._flagged == error.code:
                return
            self._healthy = False
            self._flagged = error.code
            event = ChannelHealth(ok=False, code=error.code, title=error.title,
                                  details=error.details).new(CHANNEL_STREAM)
            log.error("WhatsApp channel problem: %s", error)
        else:
            return
        await self.db.record([event])


_FREE = contextlib.nullcontext()


async def _wait_any(events: tuple[asyncio.Event, ...], timeout: float) -> None:
    """Until one of ``events`` is set or ``timeout`` passes, whichever is first."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
