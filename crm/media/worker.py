"""The inbound media worker: every received photo, voice note or document is fetched
from Meta and kept before its links expire.

One per deployment: the process holding the ``media.inbound`` lease (``crm.jobs.lease``,
the sender's mechanism under another name) does the work; a dead holder's
lease is taken over. It reads the log from its own checkpoint
(``crm.media.jobs``), fetches each message's file, and appends ``media.stored`` or,
when no attempt can succeed any more, ``media.failed`` with the reason. A media id
Meta reuses (a forwarded sticker, a file sent again) is downloaded once: the next
message naming it is given the file already kept (the ``media_ids`` projection), and
two jobs of one media id never run at the same time. Failures that
may pass are retried with a doubling delay (``CRM_MEDIA_RETRY_SECONDS`` up to an hour)
while the media id still works (seven days after the message).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from crm.config import Settings
from crm.events import Database, EventStoreError
from crm.events.connection import translating
from crm.events.media import MediaFailed, MediaStored, outcome_key
from crm.events.messages import chat_stream
from crm.events.store import open_connection
from crm.jobs.backoff import backoff
from crm.jobs.lease import RENEW_EVERY, Lease
from crm.media import jobs
from crm.media.backends import media_store
from crm.media.fetch import FetchError, fetch
from crm.media.store import MediaStore, MediaStoreError, StoredFile
from crm.projections.media import file_for_media_id
from crm.whatsapp.graph import GraphClient

log = logging.getLogger("crm.media")

LEASE = "media.inbound"
MAX_DELAY = 3600.0
CONCURRENCY = 4
#: How often the log is looked at without a nudge (appends by other processes), and
#: the least time between two looks however busy the log is.
POLL = 0.5
MIN_GAP = 0.1
ACTOR = "system"


class MediaWorker:
    def __init__(self, settings: Settings, db: Database, stopping: asyncio.Event, graph: Any,
                 store: MediaStore) -> None:
        self.db = db
        self.stopping = stopping
        self.graph = graph
        self.store = store
        self.lease = Lease(db, name=LEASE)
        self.base_delay = settings.media_retry_seconds
        self.wake = asyncio.Event()
        #: Attempts in flight by message id, and the media ids they fetch.
        self._running: dict[str, asyncio.Task[None]] = {}
        self._fetching: set[str] = set()

    async def run(self) -> None:
        stopping = self.stopping
        renewed = float("-inf")
        holding = False
        while not stopping.is_set():
            self.wake.clear()
            began = time.monotonic()
            try:
                now = began
                if now - renewed >= RENEW_EVERY:  # take, keep or try for the lease
                    holding = await (self.lease.renew(None, idle=not self._running)
                                     if holding else self.lease.acquire())
                    renewed = now
                if holding and self.lease.valid():
                    found = await self.db.read(jobs.find, time.time())
                    if found is not None:
                        await self.db.write(jobs.add, found)
                    await self._work(time.time())
            except Exception:
                log.exception("media worker: unexpected error")
            waits = [asyncio.ensure_future(stopping.wait()),
                     asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waits, timeout=POLL, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            gap = MIN_GAP - (time.monotonic() - began)
            if gap > 0 and not stopping.is_set():
                await asyncio.sleep(gap)
        await self.cancel()
        if holding:
            await self.lease.release()
        self.lease.close()

    async def _work(self, now: float) -> None:
        free = CONCURRENCY - len(self._running)
        if free <= 0:
            return
        # More than free: jobs sharing a media id in flight are passed over.
        for job in await self.db.read(jobs.due_jobs, now, CONCURRENCY * 4):
            if free <= 0:
                break
            if job.message_id in self._running or job.media_id in self._fetching:
                continue
            free -= 1
            task = asyncio.create_task(self._attempt(job))
            self._running[job.message_id] = task
            self._fetching.add(job.media_id)

            def forget(_task: asyncio.Task[None], job: jobs.Job = job) -> None:
                self._running.pop(job.message_id, None)
                self._fetching.discard(job.media_id)

            task.add_done_callback(forget)

    async def _kept(self, job: jobs.Job) -> StoredFile | None:
        """The file a message naming the same media id already had stored, if any."""
        found = await self.db.read(file_for_media_id, job.media_id)
        if found is None:
            return None
        return StoredFile(found["sha256"], found["size"], found["mime_type"],
                          found["filename"], found["backend"], found["ref"], found["link"])

    async def _attempt(self, job: jobs.Job) -> None:
        attempts = await self.db.write(jobs.start_attempt, job)
        if attempts is None:
            return
        try:
            stored = await self._kept(job)
            if stored is None:
                fetched = await fetch(self.graph, job.media, job.kind)
                stored = await asyncio.to_thread(self.store.put, fetched.content,
                                                 fetched.mime_type, fetched.filename)
        except FetchError as exc:
            await self._failed(job, attempts, exc.reason, exc.permanent)
            return
        except MediaStoreError as exc:
            await self._failed(job, attempts, str(exc), False)
            return
        except Exception as exc:  # a bug must not stop the worker, nor lose the job
            log.exception("media %s: attempt %d failed", job.media_id, attempts)
            await self._failed(job, attempts, f"internal error: {exc.__class__.__name__}",
                               False)
            return
        event = MediaStored(message_id=job.message_id, phone=job.phone, media_id=job.media_id,
                            sha256=stored.sha256, mime_type=stored.mime_type, size=stored.size,
                            filename=stored.filename, store=stored.reference())
        await self.db.record([event.new(chat_stream(job.phone), actor=ACTOR,
                                        idempotency_key=outcome_key(job.message_id))])
        await self.db.write(jobs.finish, job.message_id)
        log.info("media %s of %s stored (%d bytes, %s)", job.media_id, job.message_id,
                 stored.size, stored.backend)

    async def _failed(self, job: jobs.Job, attempts: int, reason: str,
                      permanent: bool) -> None:
        due = time.time() + backoff(attempts, self.base_delay, MAX_DELAY, jitter=False)
        if not permanent and due < job.expires:
            log.warning("media %s: attempt %d failed (%s); next try in %.0f s",
                        job.media_id, attempts, reason, due - time.time())
            await self.db.write(jobs.retry_later, job.message_id, due, reason)
            return
        if not permanent:
            reason = f"gave up after {attempts} attempts before the media id expired: {reason}"
        event = MediaFailed(message_id=job.message_id, phone=job.phone, media_id=job.media_id,
                            reason=reason, attempts=attempts)
        await self.db.record([event.new(chat_stream(job.phone), actor=ACTOR,
                                        idempotency_key=outcome_key(job.message_id))])
        await self.db.write(jobs.finish, job.message_id)
        log.warning("media %s of %s failed: %s", job.media_id, job.message_id, reason)

    async def cancel(self) -> None:
        """Stop attempts in flight: each is counted, and is due again at the next start."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def media_fact(conn: Any) -> dict[str, Any]:
    """``/healthz``: received files waiting to be fetched (retries included), and the
    latest reason one had to wait (a Drive folder the account cannot write to, ...)."""
    try:
        with translating():
            pending, error = jobs.pending(conn), jobs.last_error(conn)
    except EventStoreError:  # no such table: the worker never ran here
        return {}
    return {"media_pending": pending, **({"media_last_error": error} if error else {})}


def _prepare(settings: Settings) -> None:
    conn = open_connection(settings.db_path)
    try:
        jobs.create_schema(conn)
    finally:
        conn.close()


@dataclass
class MediaRunner:
    """A started worker: its task, and the Graph client it opened itself (if any)."""

    worker: MediaWorker
    task: asyncio.Task[None]
    own_graph: GraphClient | None


async def start(settings: Settings, db: Database, stopping: asyncio.Event,
                graph: GraphClient | None = None) -> MediaRunner | None:
    """Called from ``before_serving``: runs the worker when a Graph API (Meta's or the
    sandbox) is configured. ``graph`` is the sender's client (and its connection pool)
    when there is one; else the worker opens its own."""
    own = graph is None
    if own:
        graph = GraphClient.from_settings(settings, connections=CONCURRENCY)
    if graph is None:
        log.info("media worker: no WhatsApp account or sandbox configured; not started")
        return None
    _prepare(settings)
    worker = MediaWorker(settings, db, stopping, graph, media_store(settings))
    loop = asyncio.get_running_loop()
    db.writer.add_listener(lambda _position: loop.call_soon_threadsafe(worker.wake.set))
    return MediaRunner(worker, asyncio.create_task(worker.run()), graph if own else None)


async def stop(runner: MediaRunner, stopping: asyncio.Event) -> None:
    stopping.set()
    try:
        await asyncio.wait_for(asyncio.shield(runner.task), 5)
    except (TimeoutError, asyncio.CancelledError):
        runner.task.cancel()
    if runner.own_graph is not None:
        await runner.own_graph.aclose()
