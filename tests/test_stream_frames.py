"""Stream frames that carry their answer: an event that changes a chat goes out with the
chat row and the message row exactly as the read API returns them (after the event),
without Meta's ``raw`` object; ``CRM_STREAM_FRAMES=hints`` sends the events alone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.sandbox import PHONE_NUMBER_ID
from tests import meta_payloads as meta
from tests.conftest import LiveServer, admin_headers
from tests.sandbox_support import SECRET, GraphSandbox, start_crm
from tests.sse_client import SSE, StreamClient

PHONE = "85290001234"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    box = GraphSandbox(status_delay=0.01)
    yield box
    box.close()


def serve(factory: pytest.TempPathFactory, sandbox: GraphSandbox, **env: str) -> LiveServer:
    data_dir = factory.mktemp("frames") / "data"
    data_dir.mkdir()
    return start_crm(data_dir, sandbox, **env)


def customer_writes(server: LiveServer, wamid: str, body: str) -> None:
    payload = meta.envelope(meta.messages_change(
        messages=[meta.text(wamid, PHONE, body, ts=int(time.time()))],
        contacts=[meta.contact(PHONE, "Mei")], phone_number_id=PHONE_NUMBER_ID))
    with server.client() as http:
        assert meta.post(http, meta.body_of(payload), secret=SECRET).status_code == 200


def until(client: StreamClient, done: Any, timeout: float = 10) -> list[SSE]:
    """Events until ``done(events)`` holds."""
    seen: list[SSE] = []
    while not done(seen):
        seen.append(client.next_event(timeout=timeout))
    return seen


def test_frames_carry_the_rows_the_read_api_answers(
        tmp_path_factory: pytest.TempPathFactory, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path_factory, sandbox)
    headers = admin_headers(server)
    client = StreamClient(server.port, headers)
    try:
        assert client.wait_response() == 200
        customer_writes(server, "wamid.frames.1", "Is the kayak free on Saturday?")
        [received] = until(client, lambda seen: seen)
        frame = received.json()
        assert frame["type"] == "message.received"
        assert "raw" not in frame["data"]  # Meta's object stays in /api/events
        with server.client(headers=headers) as http:
            chat = http.get(f"/api/chats/{PHONE}").json()["chat"]
            thread = http.get("/api/messages", params={"phone": PHONE}).json()["messages"]
            logged = http.get("/api/events", params={"after": received.position - 1,
                                                     "limit": 1}).json()["events"][0]
            assert "raw" in logged["data"]
            assert frame["chat"] == chat
            assert frame["message"] == thread[-1]
            assert frame["message"]["text"] == "Is the kayak free on Saturday?"

            # A reply: queued, dispatched, sent, then Meta's statuses; each frame of the
            # message carries its row as it was when the frame was made, and the last
            # one is the message as the thread now shows it.
            sent = http.post("/api/send", json={"phone": PHONE, "text": "Yes, from 9:00"})
            assert sent.status_code == 202, sent.text
            message_id = sent.json()["message"]["id"]
            events = until(client, lambda seen: any(
                e.event == "message.status" and e.json()["data"]["status"] == "read"
                for e in seen))
            rows = [e.json()["message"] for e in events if "message" in e.json()]
            assert rows and all(r["id"] == message_id for r in rows)
            assert [r["status"] for r in rows][-1] == "read"
            final = http.get("/api/messages", params={"phone": PHONE}).json()["messages"][-1]
            assert rows[-1] == final
            assert events[-1].json()["chat"] == http.get(f"/api/chats/{PHONE}").json()["chat"]
            assert events[-1].json()["chat"]["last_message"]["status"] == "read"

            note = http.post(f"/api/chats/{PHONE}/notes", json={"text": "regular, likes 9:00"})
            assert note.status_code < 300, note.text
            [added] = until(client, lambda seen: any(e.event == "note.added" for e in seen))[-1:]
            thread = http.get("/api/messages", params={"phone": PHONE}).json()["messages"]
            assert added.json()["message"] == thread[-1]
            assert added.json()["message"]["text"] == "regular, likes 9:00"
    finally:
        client.close()
        server.stop()


def test_hints_frames_are_the_events_alone(tmp_path_factory: pytest.TempPathFactory,
                                           sandbox: GraphSandbox) -> None:
    server = serve(tmp_path_factory, sandbox, CRM_STREAM_FRAMES="hints")
    client = StreamClient(server.port, admin_headers(server))
    try:
        assert client.wait_response() == 200
        customer_writes(server, "wamid.frames.2", "hello")
        [received] = until(client, lambda seen: seen)
        frame = received.json()
        assert "chat" not in frame and "message" not in frame
        assert "raw" in frame["data"]
        with server.client(headers=admin_headers(server)) as http:
            logged = http.get("/api/events", params={"after": received.position - 1,
                                                     "limit": 1}).json()["events"][0]
        assert json.loads(received.data or "") == logged
    finally:
        client.close()
        server.stop()


def test_setting_is_documented() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "CRM_STREAM_FRAMES" in readme
