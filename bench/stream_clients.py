"""Client processes of the stream benchmark: many event streams, read with asyncio protocols.

Each event carries the wall-clock time it was sent, as the text ``bench <time>`` of its
data (a WhatsApp message's text when it came through the webhook), and the time the
writer recorded it (``recorded_at``); a client records both latencies for every event on
every stream. Clients stay cheap on purpose (one
regex over each chunk, no JSON parsing) so they measure the server, not themselves.
Driven over a pipe by ``bench/stream.py``: open, reset, count, report, close, exit.
"""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from datetime import UTC, datetime
from multiprocessing.connection import Connection

#: Each frame's ``recorded_at`` (set by the writer just before its commit) and the
#: sender's stamp in the text: delivery is from the first, end to end from the second.
STAMPS = re.compile(rb'"recorded_at":"([^"]+)".*?"text":"bench ([0-9.]+)"')
_HOURS: dict[bytes, float] = {}


def epoch(moment: bytes) -> float:
    """``2026-11-25T11:40:51.123456Z`` as a Unix time, cheaply (cached per hour)."""
    hour = moment[:13]
    base = _HOURS.get(hour)
    if base is None:
        base = _HOURS[hour] = datetime.strptime(hour.decode(), "%Y-%m-%dT%H").replace(
            tzinfo=UTC).timestamp()
    return base + int(moment[14:16]) * 60 + float(moment[17:-1])
OPEN_AT_ONCE = 50


class Reader(asyncio.Protocol):
    def __init__(self, request: bytes, samples: tuple[array, array],
                 opened: asyncio.Future[bool]) -> None:
        self.request = request
        self.delivery, self.end_to_end = samples
        self.opened = opened
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.tail = b""
        self.live = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.live:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.live = True
            data, self.head = self.head[end + 4:], self.head[:end]
            if not self.opened.done():
                self.opened.set_result(self.head.startswith(b"HTTP/1.1 200"))
        buffer = self.tail + data if self.tail else data
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            self.tail = buffer
            return
        for recorded, sent in STAMPS.findall(buffer, 0, cut):
            self.delivery.append(now - epoch(recorded))
            self.end_to_end.append(now - float(sent))
        self.tail = buffer[cut + 2:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_result(False)


async def _open(port: int, request: bytes, count: int, samples: tuple[array, array],
                readers: list[Reader]) -> int:
    loop = asyncio.get_running_loop()
    opened = 0
    for start in range(0, count, OPEN_AT_ONCE):
        batch = []
        for _ in range(min(OPEN_AT_ONCE, count - start)):
            reader = Reader(request, samples, loop.create_future())
            await loop.create_connection(lambda r=reader: r, "127.0.0.1", port)
            batch.append(reader)
        for reader in batch:
            if await asyncio.wait_for(reader.opened, 30):
                opened += 1
        readers += batch
    return opened


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    samples = (array("d"), array("d"))
    readers: list[Reader] = []
    while True:
        command, *args = await commands.get()
        if command == "open":
            port, request, count = args
            conn.send(await _open(port, request, count, samples, readers))
        elif command == "reset":
            for values in samples:
                del values[:]
            conn.send(True)
        elif command == "count":
            conn.send(len(samples[0]))
        elif command == "report":
            conn.send(tuple(values.tobytes() for values in samples))
        elif command == "close":
            for reader in readers:
                if reader.transport is not None:
                    reader.transport.close()
            readers.clear()
            conn.send(True)
        elif command == "exit":
            loop.remove_reader(conn.fileno())
            conn.send(True)
            return


def main(conn: Connection) -> None:
    asyncio.run(_serve(conn))


def request_bytes(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
