"""The team settings with a non-admin agent: CRM_VISIBILITY=assigned (404 for chats of
others everywhere), CRM_REPLY_POLICY=assignee (403, and a first reply assigns), and
CRM_ASSIGNMENT=round_robin over the agents online, within capacity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, customer_writes, events, send_text, start_crm
from tests.sse_client import StreamClient
from tests.team_support import agent_headers, chat, phones, refused

MINE, THEIRS, NOBODYS = "85293000001", "85293000002", "85293000003"


@pytest.fixture
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


def serve(tmp_path: Path, sandbox: GraphSandbox, **env: str) -> LiveServer:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return start_crm(data_dir, sandbox, **env)


def seed(server: LiveServer, sandbox: GraphSandbox) -> dict[str, str]:
    bob = agent_headers(server, "bob")
    for phone in (MINE, THEIRS, NOBODYS):
        customer_writes(sandbox, server, phone, "hi")
    with server.client(headers=admin_headers(server)) as http:
        assert http.post(f"/api/chats/{MINE}/assign", json={"agent": "bob"}).status_code == 200
        assert http.post(f"/api/chats/{THEIRS}/assign",
                         json={"agent": "admin"}).status_code == 200
    return bob


def test_visibility_assigned_hides_other_agents_chats(tmp_path: Path,
                                                      sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, CRM_VISIBILITY="assigned")
    try:
        bob = seed(server, sandbox)
        with server.client(headers=bob) as http:
            assert set(phones(http)) == {MINE, NOBODYS}
            assert phones(http, q="8529300000") == phones(http)
            assert chat(http, MINE)["assignee"] == "bob"
            refused(http.get(f"/api/chats/{THEIRS}"), 404, "unknown_chat")
            refused(http.get("/api/messages", params={"phone": THEIRS}), 404, "unknown_chat")
            refused(http.post(f"/api/chats/{THEIRS}/read"), 404, "unknown_chat")
            refused(send_text(http, THEIRS, "hello"), 404, "unknown_chat")
            refused(http.post(f"/api/chats/{THEIRS}/notes", json={"text": "x"}), 404,
                    "unknown_chat")
            refused(http.post(f"/api/chats/{THEIRS}/status", json={"status": "resolved"}),
                    404, "unknown_chat")
            refused(http.post(f"/api/chats/{THEIRS}/assign", json={"agent": "bob"}), 404,
                    "unknown_chat")
            refused(http.get("/api/export"), 403, "forbidden")
            counts = http.get("/api/chats/counts").json()
            assert counts["all"] == 2 and counts["mine"] == 1 and counts["unassigned"] == 1
            assert send_text(http, NOBODYS, "I can answer this one").status_code == 202
        with server.client(headers=admin_headers(server)) as http:
            assert set(phones(http)) == {MINE, THEIRS, NOBODYS}
            assert http.get(f"/api/chats/{THEIRS}").status_code == 200
            assert http.get("/api/chats/counts").json()["all"] == 3
    finally:
        server.stop()


def test_reply_policy_assignee(tmp_path: Path, sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, CRM_REPLY_POLICY="assignee")
    try:
        bob = seed(server, sandbox)
        with server.client(headers=bob) as http:
            assert http.get(f"/api/chats/{THEIRS}").status_code == 200  # visible to all
            refused(send_text(http, THEIRS, "let me"), 403, "not_assignee")
            assert send_text(http, MINE, "mine to answer").status_code == 202
            assert chat(http, NOBODYS)["assignee"] is None
            assert send_text(http, NOBODYS, "I'll take it").status_code == 202
            assert chat(http, NOBODYS)["assignee"] == "bob"
        with server.client(headers=admin_headers(server)) as http:
            # An admin may answer in anyone's chat (and it stays theirs).
            assert send_text(http, MINE, "admin here").status_code == 202
            assert chat(http, MINE)["assignee"] == "bob"
    finally:
        server.stop()


def test_round_robin_over_agents_online_with_capacity(tmp_path: Path,
                                                      sandbox: GraphSandbox) -> None:
    server = serve(tmp_path, sandbox, CRM_ASSIGNMENT="round_robin",
                   CRM_ASSIGNMENT_CAPACITY="1")
    streams: list[StreamClient] = []
    try:
        bob, carol = agent_headers(server, "bob"), agent_headers(server, "carol")
        agent_headers(server, "dave")  # enabled but never online
        with server.client(headers=admin_headers(server)) as http:
            customer_writes(sandbox, server, "85293000010", "nobody online")
            assert chat(http, "85293000010")["assignee"] is None

            for headers in (bob, carol):
                streams.append(StreamClient(server.port, headers=headers))
                assert streams[-1].wait_response() == 200
            wait_until(lambda: http.get("/api/team/online").json()["online"] == {
                "bob": 1, "carol": 1}, message="bob and carol to be online")

            def owner(phone: str) -> str | None:
                return wait_until(lambda: chat(http, phone)["assignee"], 10,
                                  message=f"{phone} to be assigned")

            customer_writes(sandbox, server, "85293000011", "first")
            assert owner("85293000011") == "bob"
            customer_writes(sandbox, server, "85293000012", "second")
            assert owner("85293000012") == "carol"
            # Both at capacity (one open chat each): the next stays unassigned.
            customer_writes(sandbox, server, "85293000013", "third")
            customer_writes(sandbox, server, "85293000014", "marker")
            assert chat(http, "85293000013")["assignee"] is None
            # Bob resolves his: he has room again, and the rotation comes back to him.
            http.post("/api/chats/85293000011/status", json={"status": "resolved"})
            customer_writes(sandbox, server, "85293000015", "fourth")
            assert owner("85293000015") == "bob"
            # A resolved chat with nobody assigned that reopens is placed too.
            http.post("/api/chats/85293000012/status", json={"status": "resolved"})
            http.post("/api/chats/85293000013/status", json={"status": "resolved"})
            customer_writes(sandbox, server, "85293000013", "back again")
            assert owner("85293000013") == "carol"

            streams.pop().close()  # carol goes away
            wait_until(lambda: http.get("/api/team/online").json()["online"] == {"bob": 1},
                       message="carol to be offline")
            assigned = events(server, "chat.assigned")
            assert {e["actor"] for e in assigned} == {"system"}
            assert {e["data"]["by"] for e in assigned} == {"round_robin"}
    finally:
        for stream in streams:
            stream.close()
        server.stop()

