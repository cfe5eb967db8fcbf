"""Working as a team: the chat list's filters at scale, and presence through the stream.

Run: ``python -m bench team``.

* Filters: a log of 1,000,000 events over 10,000 chats (customer messages, 100 a chat,
  through ``EventStore`` and every projection, as the webhook writes them), then the
  team's state: a third of the chats assigned to ``me``, a third to others, 20 %
  resolved, 10 % pending, 5 % snoozed, 10 % labelled ``vip``, half of them read. The
  chat list's first page (50 rows, with the team fields, as ``GET /api/chats`` builds
  it) is read ``READS`` times per filter on a ``query_only`` connection in this
  process; p50/p99 and the ratio of each p99 to the unfiltered list's in the same run.
* Presence: a real ``crm serve --workers 2``; ``STREAMS`` streams open (asyncio
  clients, split over both workers by the kernel); one agent's ``POST /api/presence``
  ``typing``, ``SIGNALS`` times, each on its own chat; from just before the POST to
  each stream's receipt of that ``event: presence`` frame. p50/p99 over every receipt.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.stats import percentile, table
from crm.events import EventStore
from crm.events.connection import open_reader
from crm.events.messages import ChatRead, MessageReceived, chat_stream
from crm.events.team import (
    LABELS_STREAM,
    ChatAssigned,
    ChatLabelsChanged,
    ChatStatusChanged,
    LabelCreated,
)
from crm.projections import default_projector, team_view
from crm.projections.team_view import ChatFilter, Scope

CHATS = 10_000
EVENTS = int(os.environ.get("CRM_BENCH_TEAM_EVENTS", "1000000"))
READS = 300
STREAMS = 200
SIGNALS = int(os.environ.get("CRM_BENCH_TEAM_SIGNALS", "40"))
LIST_TARGET_MS, PRESENCE_TARGET_MS = 10, 250

FILTERS: list[tuple[str, ChatFilter]] = [
    ("none (unfiltered)", ChatFilter()),
    ("status=open", ChatFilter(statuses=("open",))),
    ("status=pending,snoozed", ChatFilter(statuses=("pending", "snoozed"))),
    ("status=resolved", ChatFilter(statuses=("resolved",))),
    ("assignee=me", ChatFilter(assignee="me")),
    ("assignee=none", ChatFilter(assignee="none")),
    ("label=vip", ChatFilter(label="vip")),
    ("unread=true", ChatFilter(unread=True)),
    ("waiting=true", ChatFilter(waiting=True)),
    ("assignee=me, status=open, unread=true",
     ChatFilter(statuses=("open",), assignee="me", unread=True)),
]


def phone_of(i: int) -> str:
    return f"4916{i:08d}"


def seed(path: Path) -> float:
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    started = time.perf_counter()
    base = datetime.now(UTC) - timedelta(days=30)
    try:
        per_chat = max(1, EVENTS // CHATS)
        batch = []
        for n in range(CHATS * per_chat):
            i = n % CHATS
            phone = phone_of(i)
            batch.append(MessageReceived(
                phone=phone, wamid=f"wamid.team.{n}", message_type="text",
                text=f"Is the kayak free on Saturday? #{n}", profile_name=f"Customer {i:05d}",
            ).new(chat_stream(phone), actor="meta", idempotency_key=f"wa:wamid.team.{n}",
                  occurred_at=base + timedelta(seconds=n)))
            if len(batch) == 5000:
                store.record(batch)
                batch = []
        if batch:
            store.record(batch)
        store.record([LabelCreated(label_id="vip", name="vip", color="#f59e0b").new(
            LABELS_STREAM, actor="agent:me")])
        until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        team = []
        for i in range(CHATS):
            phone, stream = phone_of(i), chat_stream(phone_of(i))
            if i % 3 == 0:
                team.append(ChatAssigned(phone=phone, agent="me").new(stream, actor="agent:me"))
            elif i % 3 == 1:
                team.append(ChatAssigned(phone=phone, agent=f"agent{i % 5}").new(
                    stream, actor="agent:me"))
            if i % 20 < 4:
                team.append(ChatStatusChanged(phone=phone, status="resolved").new(
                    stream, actor="agent:me"))
            elif i % 20 < 6:
                team.append(ChatStatusChanged(phone=phone, status="pending").new(
                    stream, actor="agent:me"))
            elif i % 20 == 6:
                team.append(ChatStatusChanged(phone=phone, status="snoozed", until=until).new(
                    stream, actor="agent:me"))
            if i % 10 == 0:
                team.append(ChatLabelsChanged(phone=phone, add=["vip"]).new(
                    stream, actor="agent:me"))
            if i % 2 == 0:
                team.append(ChatRead(phone=phone, agent="me").new(stream, actor="agent:me"))
        for start in range(0, len(team), 5000):
            store.record(team[start:start + 5000])
        events = store.head().position
    finally:
        store.close()
    seconds = time.perf_counter() - started
    print(f"seeded {events:,} events in {seconds:.0f}s", flush=True)
    return seconds


def list_latencies(path: Path) -> tuple[list[list[object]], int]:
    conn = open_reader(path)
    scope = Scope(agent="me")
    found: dict[str, list[float]]
    sizes: dict[str, int] = {}
    try:
        for _ in range(2):  # warm the page cache
            for _name, wanted in FILTERS:
                team_view.list_team_chats(conn, 50, None, None, wanted, scope)
        found = {name: [] for name, _ in FILTERS}
        for _ in range(READS):  # interleaved: noise falls on every filter alike
            for name, wanted in FILTERS:
                began = time.perf_counter()
                rows, _ = team_view.list_team_chats(conn, 50, None, None, wanted, scope)
                found[name].append((time.perf_counter() - began) * 1000)
                sizes[name] = len(rows)
        total = conn.execute("SELECT count(*) FROM chats").fetchone()[0]
    finally:
        conn.close()
    base = percentile(found[FILTERS[0][0]], 0.99)
    rows = []
    for name, _ in FILTERS:
        p99 = percentile(found[name], 0.99)
        rows.append([name, sizes[name], f"{percentile(found[name], 0.5):.2f}", f"{p99:.2f}",
                     f"{p99 / base:.2f}", "yes" if p99 < LIST_TARGET_MS else "**no**"])
    return rows, total


# -- presence --------------------------------------------------------------------------

PRESENCE = re.compile(rb'event: presence\ndata: \{"agent":"typist","phone":"(\d+)",'
                      rb'"state":"typing"')


class Reader(asyncio.Protocol):
    def __init__(self, request: bytes, seen: dict[str, list[float]],
                 opened: asyncio.Future[None]) -> None:
        self.request, self.seen, self.opened = request, seen, opened
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.opened.done() and b" 200 " in data[:20]:
            self.opened.set_result(None)
        chunk = self.tail + data
        for match in PRESENCE.finditer(chunk):
            self.seen.setdefault(match.group(1).decode(), []).append(now)
        self.tail = chunk[-200:]


async def presence_latencies(server, typist: dict[str, str], reader: dict[str, str],
                             phones: list[str]) -> list[float]:
    from bench.stream_clients import request_bytes

    loop = asyncio.get_running_loop()
    seen: dict[str, list[float]] = {}
    request = request_bytes(server.port, "/api/stream", reader)
    transports = []
    for _ in range(STREAMS):
        opened: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda opened=opened: Reader(request, seen, opened), "127.0.0.1", server.port)
        transports.append(transport)
        await asyncio.wait_for(opened, 10)
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=typist, timeout=10) as http:
            for phone in phones:
                began = time.perf_counter()
                answer = await http.post("/api/presence", json={"phone": phone,
                                                                "state": "typing"})
                assert answer.status_code == 204, answer.text
                deadline = time.perf_counter() + 5
                while len(seen.get(phone, ())) < STREAMS and time.perf_counter() < deadline:
                    await asyncio.sleep(0.002)
                got = seen.get(phone, [])
                assert len(got) == STREAMS, f"{len(got)} of {STREAMS} streams got {phone}"
                latencies += [(t - began) * 1000 for t in got]
                await asyncio.sleep(0.05)
    finally:
        for transport in transports:
            transport.close()
    return latencies


def presence_run() -> list[float]:
    from crm.auth.local import create_token
    from crm.config import Settings
    from tests.conftest import admin_headers, start_server

    data_dir = Path(tempfile.mkdtemp(prefix="crm-bench-team-")) / "data"
    data_dir.mkdir()
    server = start_server(data_dir, "--workers", "2", WHATSAPP_SEND_TYPING="false",
                          CRM_STREAMS_PER_AGENT=str(STREAMS * 2))
    try:
        admin = admin_headers(server)
        made = httpx.post(server.url + "/api/agents", headers=admin, timeout=10,
                          json={"name": "typist", "password": "a-long-password-1"})
        assert made.status_code == 201, made.text
        token, _ = create_token(Settings(data_dir=server.data_dir), "typist", "bench")
        typist = {"Authorization": f"Bearer {token}"}
        phones = [phone_of(i) for i in range(SIGNALS + 1)]
        store = EventStore(server.db_path, default_projector())
        try:
            store.record([MessageReceived(phone=p, wamid=f"wamid.p.{p}", message_type="text",
                                          text="hello").new(chat_stream(p), actor="meta")
                          for p in phones])
        finally:
            store.close()
        asyncio.run(presence_latencies(server, typist, admin, phones[:1]))  # warm up
        return asyncio.run(presence_latencies(server, typist, admin, phones[1:]))
    finally:
        server.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def run() -> str:
    # Presence first: deleting the million-event database afterwards is disk work that
    # would land on the presence figures.
    latencies = presence_run()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.db"
        seconds = seed(path)
        rows, total = list_latencies(path)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return (
        "## Team: chat list filters and presence\n\n"
        f"Chat list: {total:,} chats, {EVENTS:,} customer messages plus the team's events "
        f"(seeded through the projections in {seconds:.0f} s); the first page (50 rows, "
        f"with status, assignee, labels) read {READS} times per filter, interleaved, as "
        f"agent `me`. Target: p99 under {LIST_TARGET_MS} ms.\n\n"
        + table(["filter", "rows", "p50 ms", "p99 ms", "p99 ratio to unfiltered",
                 "under target"], rows)
        + f"\n\nPresence: `crm serve --workers 2`, {STREAMS} open streams, {SIGNALS} "
        "typing signals (`POST /api/presence`, each on its own chat), from just before "
        f"the POST to each stream's receipt of the `event: presence` frame "
        f"({len(latencies):,} receipts). Target: p99 under {PRESENCE_TARGET_MS} ms.\n\n"
        + table(["measure", "p50 ms", "p99 ms", "under target"],
                [["typing signal to 200 streams", f"{p50:.1f}", f"{p99:.1f}",
                  "yes" if p99 < PRESENCE_TARGET_MS else "**no**"]])
    )
