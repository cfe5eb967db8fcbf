"""Presence ("Ana is typing") across workers, its expiry, the stream under
CRM_VISIBILITY=assigned, and Meta's typing indicator at most once per 20 s per chat."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.events.model import RecordedEvent
from crm.stream import Mark, Viewer, presence
from crm.stream.viewers import ChatOwners, mark_of
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, customer_writes, start_crm
from tests.sse_client import SSE, StreamClient, worker_of
from tests.team_support import agent_headers

PHONE, THEIRS = "85294000001", "85294000002"


@pytest.fixture
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


def serve(tmp_path: Path, sandbox: GraphSandbox, *args: str, **env: str) -> LiveServer:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return start_crm(data_dir, sandbox, *args, **env)


def next_presence(client: StreamClient, timeout: float = 5) -> tuple[SSE, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        item = client.next_item(max(0.0, deadline - time.monotonic()))
        if item.event == "presence":
            assert item.id is None, "presence is not a log position"
            return item, item.json()


def signal(server: LiveServer, headers: dict[str, str], state: str,
           phone: str = PHONE) -> None:
    with server.client(headers=headers) as http:
        answer = http.post("/api/presence", json={"phone": phone, "state": state})
        assert answer.status_code == 204, answer.text


def test_typing_reaches_streams_on_both_workers_within_a_second(
        tmp_path: Path, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, "--workers", "2")
    clients: list[StreamClient] = []
    try:
        customer_writes(sandbox, server, PHONE, "hi")
        ana = agent_headers(server, "ana")
        bob = agent_headers(server, "bob")
        while len(clients) < 2 or (len({worker_of(server, c) for c in clients}) < 2
                                   and len(clients) < 30):
            client = StreamClient(server.port, bob)
            assert client.wait_response() == 200
            clients.append(client)
        assert len({worker_of(server, c) for c in clients}) == 2
        sent = time.monotonic()
        signal(server, ana, "typing")
        for client in clients:
            item, data = next_presence(client)
            assert data["agent"] == "ana" and data["phone"] == PHONE
            assert data["state"] == "typing"
            assert item.at - sent < 1.0, f"presence took {item.at - sent:.3f}s"
        # A stream opened now learns at once who is there.
        late = StreamClient(server.port, bob)
        clients.append(late)
        assert next_presence(late)[1]["agent"] == "ana"
        with server.client(headers=bob) as http:
            refused = http.post("/api/presence", json={"phone": PHONE, "state": "dancing"})
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_state"
            unknown = http.post("/api/presence", json={"phone": "85299999999",
                                                       "state": "viewing"})
            assert unknown.status_code == 404
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_presence_lapses_when_the_tab_stops_renewing_and_ends_on_left(
        tmp_path: Path, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, CRM_PRESENCE_TTL="1.5")
    try:
        customer_writes(sandbox, server, PHONE, "hi")
        ana = agent_headers(server, "ana")
        client = StreamClient(server.port, admin_headers(server))
        assert client.wait_response() == 200
        signal(server, ana, "viewing")
        seen, data = next_presence(client)
        assert data["state"] == "viewing"
        gone, data = next_presence(client, timeout=5)  # nothing renews it: the tab closed
        assert data == {"agent": "ana", "phone": PHONE, "state": "left", "expires": 0.0}
        assert 1.0 < gone.at - seen.at < 3.0
        signal(server, ana, "viewing")
        assert next_presence(client)[1]["state"] == "viewing"
        signal(server, ana, "left")
        assert next_presence(client)[1]["state"] == "left"
        client.close()
    finally:
        server.stop()
    # Presence is not in the log.
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        types = {t for (t,) in conn.execute("SELECT DISTINCT type FROM events")}
    finally:
        conn.close()
    assert not any("presence" in t for t in types)


def test_a_restricted_agent_streams_only_chats_they_may_see(
        tmp_path: Path, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, CRM_VISIBILITY="assigned")
    try:
        customer_writes(sandbox, server, PHONE, "first")
        customer_writes(sandbox, server, THEIRS, "first")
        bob = agent_headers(server, "bob")
        ana = agent_headers(server, "ana")
        with server.client(headers=admin_headers(server)) as http:
            assert http.post(f"/api/chats/{THEIRS}/assign",
                             json={"agent": "ana"}).status_code == 200
        live = StreamClient(server.port, bob)
        assert live.wait_response() == 200
        signal(server, ana, "typing", THEIRS)  # not for bob
        customer_writes(sandbox, server, THEIRS, "secret for ana")
        customer_writes(sandbox, server, PHONE, "for everyone")
        signal(server, ana, "typing", PHONE)
        received: list[SSE] = []
        while not any(i.event == "presence" for i in received):
            received.append(live.next_item(5))
        data = "".join(i.data or "" for i in received)
        assert "for everyone" in data and "secret for ana" not in data
        assert [i.json()["phone"] for i in received if i.event == "presence"] == [PHONE]
        # Moving a chat away: bob sees that it left him, then nothing more of it.
        with server.client(headers=admin_headers(server)) as http:
            assert http.post(f"/api/chats/{PHONE}/assign",
                             json={"agent": "bob"}).status_code == 200
            assert http.post(f"/api/chats/{PHONE}/assign",
                             json={"agent": "ana"}).status_code == 200
        assigned: list[dict[str, Any]] = []
        while len(assigned) < 2:
            event = live.next_event(5)
            if event.event == "chat.assigned":
                assigned.append(event.json())
        assert [e["data"]["agent"] for e in assigned] == ["bob", "ana"]
        customer_writes(sandbox, server, PHONE, "now ana's")
        customer_writes(sandbox, server, "85294000003", "a new chat")
        after: list[str] = []
        while not any("a new chat" in t for t in after):
            after.append(live.next_event(5).data or "")
        assert not any("now ana" in t for t in after)
        # Catching up from the log is filtered too; an admin's stream is not.
        replayed = StreamClient(server.port, bob, params={"after": "0"})
        admin = StreamClient(server.port, admin_headers(server), params={"after": "0"})
        for client, expect in ((replayed, False), (admin, True)):
            texts = []
            while not any("a new chat" in t for t in texts):
                texts.append(client.next_event(5).data or "")
            assert any("secret for ana" in t for t in texts) is expect
            assert any("now ana" in t for t in texts) is expect
            client.close()
        live.close()
    finally:
        server.stop()


def test_typing_indicator_reaches_meta_at_most_once_per_20_seconds(
        tmp_path: Path, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, "--workers", "2")
    try:
        customer_writes(sandbox, server, PHONE, "are you there?")
        ana = agent_headers(server, "ana")
        bob = agent_headers(server, "bob")
        with server.client(headers=ana) as http:
            newest = http.get("/api/messages", params={"phone": PHONE}).json()["messages"][-1]
        for n in range(6):  # two agents, both workers (new connections each time)
            signal(server, ana if n % 2 else bob, "typing")
        wait_until(lambda: sandbox.state.typing == [newest["wamid"]], 5,
                   message="the typing indicator to reach Meta")
        [request] = [r for r in sandbox.requests() if r["endpoint"] == "typing"]
        assert request["outcome"] == "ok"
        assert sandbox.state.reads == []  # a typing indicator is not a plain read receipt
    finally:
        server.stop()
    assert sandbox.state.typing == [newest["wamid"]]


def test_the_typing_window_is_20_seconds_per_chat(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    presence.create_schema(conn)
    due = [presence.signal(conn, agent, phone, "typing", 10, 20.0, now=at)
           for agent, phone, at in (("ana", "1", 0.0), ("bob", "1", 5.0), ("ana", "2", 6.0),
                                    ("ana", "1", 19.9), ("ana", "1", 20.0),
                                    ("ana", "1", 30.0))]
    assert due == [True, False, True, False, True, False]
    assert presence.signal(conn, "ana", "1", "viewing", 10, 20.0, now=100.0) is False
    # One row per (agent, chat), renumbered on each signal (that is how other workers
    # notice it); rows lapsed over a minute ago are cleared.
    assert [row[:4] for row in presence.changed_since(conn, 0)] == [(7, "ana", "1", "viewing")]


def _event(position: int, type_: str, phone: str, **data: Any) -> RecordedEvent:
    return RecordedEvent(position=position, id=f"e{position}", type=type_,
                         stream=f"chat:{phone}", occurred_at="", recorded_at="", actor="x",
                         idempotency_key=None, data={"phone": phone, **data}, prev_hash="",
                         hash="")


def test_frames_of_assigned_chats_name_who_may_see_them() -> None:
    owners = ChatOwners()
    bob = Viewer.of("bob", False, restricted=True)
    admin = Viewer.of("admin", True, restricted=True)
    seen = []
    for position, (type_, data) in enumerate([
            ("message.received", {}), ("chat.assigned", {"agent": "bob"}),
            ("message.received", {}), ("chat.assigned", {"agent": "ana"}),
            ("message.received", {}), ("chat.assigned", {"agent": None}),
            ("message.received", {})], 1):
        mark = mark_of(_event(position, type_, "1", **data), owners, apply=True)
        seen.append((bob.sees(mark), admin.sees(mark)))
    # Bob sees his chat, the assignment that moved it to ana, and it again once unassigned.
    assert seen == [(True, True), (True, True), (True, True), (True, True), (False, True),
                    (True, True), (True, True)]
    assert mark_of(_event(9, "message.received", "1"), None) is None  # CRM_VISIBILITY=all
    assert Viewer.of("bob", False).sees(Mark(owners=frozenset({"ana"})))  # not restricted
