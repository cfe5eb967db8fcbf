"""Posting signed webhooks to the server, a moment later, the way Meta does.

One thread, a schedule ordered by due time. Whatever is due together goes in one
POST (statuses batched, as Meta batches them); a refused or failed delivery is tried
again with backoff, like Meta's retries, before it is given up and counted.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from crm.sandbox import payloads

log = logging.getLogger("crm.sandbox")

MAX_BATCH = 1000
RETRIES = 8


@dataclass
class Delivery:
    """What the server has been sent, for the control API."""

    posted: int = 0
    failed: int = 0
    retried: int = 0
    last_error: str | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)


class Poster:
    def __init__(self, secret: str, ids: tuple[str, str, str]) -> None:
        self.secret = secret
        self.waba_id, self.phone_number_id, self.display = ids
        self.url: str | None = None
        self.delivery = Delivery()
        self._heap: list[tuple[float, int, str, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._conn: http.client.HTTPConnection | None = None
        self._conn_to: tuple[str | None, int | None] = (None, None)
        self._thread = threading.Thread(target=self._run, name="sandbox-poster", daemon=True)
        self._thread.start()

    def schedule(self, delay: float, kind: str, item: dict[str, Any]) -> None:
        """``kind`` is ``statuses`` (one status) or ``messages`` (contact + message)."""
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), kind, item))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self.delivery = Delivery()

    def _due(self) -> list[tuple[str, dict[str, Any]]]:
        with self._cond:
            while True:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now and self.url:
                    items: list[tuple[str, dict[str, Any]]] = []
                    while self._heap and self._heap[0][0] <= now and len(items) < MAX_BATCH:
                        _, _, kind, item = heapq.heappop(self._heap)
                        items.append((kind, item))
                    return items
                timeout = self._heap[0][0] - now if self._heap and self.url else None
                self._cond.wait(timeout)

    def _run(self) -> None:
        while True:
            items = self._due()
            statuses = [item for kind, item in items if kind == "statuses"]
            if statuses:
                self._deliver({"statuses": statuses})
            for kind, item in items:
                if kind == "messages":
                    self._deliver({"contacts": [item["contact"]], "messages": [item["message"]]})

    def _deliver(self, value: dict[str, Any]) -> None:
        body = payloads.encode(payloads.envelope(self.waba_id, self.phone_number_id,
                                                 self.display, value))
        delay = 0.1
        for attempt in range(RETRIES):
            error = self._post(body)
            if error is None:
                self.delivery.posted += 1
                if len(self.delivery.bodies) < 200:
                    self.delivery.bodies.append(value)
                return
            self.delivery.last_error = error
            if attempt + 1 < RETRIES:
                self.delivery.retried += 1
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.delivery.failed += 1
        log.warning("sandbox: webhook given up after %d attempts: %s", RETRIES,
                    self.delivery.last_error)

    def _post(self, body: bytes) -> str | None:
        url = urllib.parse.urlsplit(self.url or "")
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": payloads.sign(self.secret, body),
                   "User-Agent": "facebookexternalua"}
        where = (url.hostname, url.port)
        if where != self._conn_to and self._conn is not None:  # told another URL
            self._conn.close()
            self._conn = None
        self._conn_to = where
        for fresh in (False, True):  # a kept-alive connection may have been closed
            try:
                if self._conn is None or fresh:
                    if self._conn is not None:
                        self._conn.close()
                    # Like HTTPConnection(None) did: a URL without a host ends the thread.
                    assert url.hostname is not None, f"webhook URL without a host: {self.url}"
                    self._conn = http.client.HTTPConnection(url.hostname, url.port or 80,
                                                            timeout=10)
                self._conn.request("POST", url.path or "/", body, headers)
                response = self._conn.getresponse()
                response.read()
                if response.status == 200:
                    return None
                return f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if fresh:
                    return f"{exc.__class__.__name__}: {exc}"
        return "unreachable"
