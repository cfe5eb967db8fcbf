"""A real HTTP/1.1 event-stream client for the stream tests: a socket, h11, a thread.

h11 (httpx's own HTTP/1.1 engine) tells a clean end of the response (the final
chunk arrived) from a cut one (the connection closed mid-body), which is what the
shutdown test must see. Each client reads on its own thread and queues what it parsed
with the time it arrived, so tests wait on conditions, never on sleeps.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import h11

from crm.events import EventStore, NewEvent
from crm.projections import default_projector
from tests.conftest import LiveServer
from tests.workers import holder


@dataclass
class SSE:
    """One parsed item: an event (``id``/``event``/``data``), a comment or a retry hint."""

    at: float
    id: str | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None
    retry: int | None = None

    @property
    def is_event(self) -> bool:
        return self.data is not None

    @property
    def position(self) -> int:
        return int(self.id or 0)

    def json(self) -> dict[str, Any]:
        return json.loads(self.data or "null")


@dataclass
class StreamClient:
    """``GET /api/stream`` over one socket, read on a thread (or not at all: ``read=False``)."""

    port: int
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    path: str = "/api/stream"
    read: bool = True
    rcvbuf: int | None = None

    def __post_init__(self) -> None:
        self.items: queue.Queue[SSE] = queue.Queue()
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        self.body = b""  # the body of a non-200 answer
        self.clean_end = False
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.responded = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf is not None:  # before connect, so the window starts small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", self.port))
        self.local_port = self.sock.getsockname()[1]
        self.conn = h11.Connection(h11.CLIENT)
        target = self.path + ("?" + urlencode(self.params) if self.params else "")
        headers = [("Host", f"127.0.0.1:{self.port}"), ("Accept", "text/event-stream"),
                   *self.headers.items()]
        self.sock.sendall(self.conn.send(h11.Request(method="GET", target=target,
                                                     headers=headers)))
        self.sock.sendall(self.conn.send(h11.EndOfMessage()))
        self._thread = threading.Thread(target=self._run, daemon=True)
        if self.read:
            self._thread.start()

    # -- reading -------------------------------------------------------------------

    def start_reading(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        buffer = b""
        try:
            while True:
                event = self.conn.next_event()
                if event is h11.NEED_DATA:
                    data = self.sock.recv(65536)
                    self.conn.receive_data(data)
                    continue
                if isinstance(event, h11.Response):
                    self.status = event.status_code
                    self.response_headers = {k.decode().lower(): v.decode()
                                             for k, v in event.headers}
                    self.responded.set()
                elif isinstance(event, h11.Data):
                    if self.status != 200:
                        self.body += bytes(event.data)
                        continue
                    buffer += bytes(event.data)
                    *blocks, buffer = buffer.split(b"\n\n")
                    now = time.monotonic()
                    for block in blocks:
                        self.items.put(parse_block(block, now))
                elif isinstance(event, h11.EndOfMessage):
                    self.clean_end = True
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (h11.RemoteProtocolError, OSError) as exc:
            self.error = exc
        finally:
            self.responded.set()
            self.done.set()

    # -- waiting -------------------------------------------------------------------

    def wait_response(self, timeout: float = 10) -> int:
        assert self.responded.wait(timeout), "no response headers"
        assert self.status is not None, f"no response: {self.error!r}"
        return self.status

    def next_item(self, timeout: float = 10) -> SSE:
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            ended = "the stream ended cleanly" if self.clean_end else (
                "the connection closed" if self.done.is_set() else "the stream is open")
            raise AssertionError(f"nothing received within {timeout}s; {ended} "
                                 f"(error={self.error!r})") from None

    def next_event(self, timeout: float = 10) -> SSE:
        """The next event, skipping comments and retry hints."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.next_item(max(0.0, deadline - time.monotonic()))
            if item.is_event:
                return item

    def events(self, count: int, timeout: float = 10) -> list[SSE]:
        deadline = time.monotonic() + timeout
        return [self.next_event(max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def close(self) -> None:
        """Go away as a browser tab does: the socket closes, mid-stream."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def parse_block(block: bytes, at: float) -> SSE:
    item = SSE(at=at)
    for raw in block.decode().split("\n"):
        if raw.startswith(":"):
            item.comment = raw[1:].strip()
            continue
        name, _, value = raw.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            item.id = value
        elif name == "event":
            item.event = value
        elif name == "data":
            item.data = value if item.data is None else item.data + "\n" + value
        elif name == "retry":
            item.retry = int(value)
    return item


def worker_of(server: LiveServer, client: StreamClient) -> int:
    """Which worker process holds this client's connection (read from /proc)."""
    return holder(server.process.pid, server.port, client.local_port)


class Appender:
    """Appends from the test process: another process than the server, as the CLI is."""

    def __init__(self, db_path) -> None:
        projector = default_projector()
        self.store = EventStore(db_path, projector)
        projector.create_schema(self.store.conn)

    def append(self, count: int = 1, tag: str = "t", size: int = 0) -> list[int]:
        """``count`` events, each in its own transaction; returns their positions."""
        positions = []
        for i in range(count):
            data = {"tag": tag, "i": i, "pad": "x" * size}
            positions += self.store.record([NewEvent(type="test.stream", stream=f"test:{tag}",
                                                     data=data)])
        return positions

    def close(self) -> None:
        self.store.close()
