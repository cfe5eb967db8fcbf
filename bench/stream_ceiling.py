"""The raw ceiling of the stream benchmark: a bare asyncio broadcast, no framework, no log.

A plain asyncio server answers any request with chunked ``text/event-stream`` and, when
told to, generates events at a rate, encodes each once (the same frame shape and size
as the real stream, through ``crm.stream.encode``) and writes the same bytes to every
connection. What the real server adds on top (SQLite, the tailer, Quart, hypercorn)
is the ratio the benchmark reports.
"""

from __future__ import annotations

import asyncio
import os
import time
from multiprocessing.connection import Connection

from crm.events import RecordedEvent, format_time, utcnow
from crm.stream import encode

HEAD = (b"HTTP/1.1 200 \r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")


class Client(asyncio.Protocol):
    def __init__(self, clients: set[asyncio.Transport]) -> None:
        self.clients = clients
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.transport in self.clients:
            return
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            assert self.transport is not None
            self.transport.write(HEAD + chunk(b"retry: 2000\n\n"))
            self.clients.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.clients.discard(self.transport)  # type: ignore[arg-type]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def frame(position: int) -> bytes:
    now = format_time(utcnow())
    event = RecordedEvent(
        position=position, id=os.urandom(16).hex(), type="bench.tick", stream="bench",
        occurred_at=now, recorded_at=now,
        actor="system", idempotency_key=None, data={"text": f"bench {time.time()}"},
        prev_hash=os.urandom(32).hex(), hash=os.urandom(32).hex())
    return chunk(encode(event))


async def broadcast(clients: set[asyncio.Transport], rate: float, seconds: float) -> int:
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while sent < rate * seconds:
        await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
        data = frame(sent + 1)  # encoded once, the same bytes for everyone
        for transport in list(clients):
            transport.write(data)
        sent += 1
    return sent


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    clients: set[asyncio.Transport] = set()
    server = await loop.create_server(lambda: Client(clients), "127.0.0.1", 0, backlog=1024)
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    conn.send((os.getpid(), server.sockets[0].getsockname()[1]))
    while True:
        command, *args = await commands.get()
        if command == "run":
            conn.send(await broadcast(clients, *args))
        elif command == "clients":
            conn.send(len(clients))
        elif command == "exit":
            server.close()
            loop.remove_reader(conn.fileno())
            conn.send(True)
            return


def main(conn: Connection) -> None:
    asyncio.run(_serve(conn))
