"""Sending through the Graph API: a real ``crm serve`` against the fake Graph server
(crm's sandbox) over real HTTP, statuses coming back as signed webhooks."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import (
    GraphSandbox,
    customer_writes,
    events,
    send_text,
    start_crm,
    wait_status,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("send") / "data"
    data_dir.mkdir()
    live = start_crm(data_dir, sandbox, CRM_SEND_TIMEOUT="0.5")
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def fresh(sandbox: GraphSandbox) -> None:
    sandbox.state.reset()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_a_text_reaches_sent_delivered_and_read(server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000001"
    customer_writes(sandbox, server, phone, "Is the kayak free on Saturday?")
    with server.client(headers=admin_headers(server)) as http:
        answer = send_text(http, phone, "Yes, it is!")
        assert answer.status_code == 202, answer.text
        sent = answer.json()["message"]
        assert (sent["status"], sent["direction"], sent["text"]) == ("queued", "out", "Yes, it is!")
        # In the log before the answer.
        assert [e["data"]["text"] for e in events(server, "message.queued", sent["id"])] == [
            "Yes, it is!"]
        for status in ("sent", "delivered", "read"):
            shown = wait_status(http, phone, sent["id"], status)
    at_meta = sandbox.sent(sent["id"])
    assert len(at_meta) == 1
    assert at_meta[0]["payload"]["to"] == "+" + phone
    assert at_meta[0]["payload"]["text"]["body"] == "Yes, it is!"
    assert shown["wamid"] == at_meta[0]["wamid"]
    kinds = [e["type"] for e in events(server, message_id=sent["id"])]
    assert kinds == ["message.queued", "message.dispatching", "message.sent"]


def test_an_image_is_uploaded_then_sent_by_media_id(server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000002"
    customer_writes(sandbox, server, phone)
    picture = png()
    with server.client(headers=admin_headers(server)) as http:
        answer = http.post("/api/send", data={"phone": phone, "caption": "the kayak"},
                           files={"file": ("kayak.png", picture, "image/png")})
        assert answer.status_code == 202, answer.text
        sent = answer.json()["message"]
        assert sent["type"] == "image" and sent["caption"] == "the kayak"
        assert sent["media"]["size"] == len(picture)
        wait_status(http, phone, sent["id"], "sent")
        kept = http.get(sent["media"]["url"])
        assert kept.status_code == 200 and kept.content == picture
        assert kept.headers["content-type"] == "image/png"
    uploads = sandbox.requests(endpoint="media")
    sends = sandbox.requests(sent["id"], "messages")
    assert len(uploads) == 1 and len(sends) == 1
    assert uploads[0]["at"] <= sends[0]["at"]
    [at_meta] = sandbox.sent(sent["id"])
    assert at_meta["payload"]["image"] == {"id": uploads[0]["media_id"], "caption": "the kayak"}
    assert sandbox.state.media[uploads[0]["media_id"]]["content"] == picture


def test_window_closed_at_meta_fails_at_once_and_an_agent_can_retry(
        server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000003"
    customer_writes(sandbox, server, phone)
    sandbox.behave(fail={"code": 131047})
    with server.client(headers=admin_headers(server)) as http:
        sent = send_text(http, phone, "too late?").json()["message"]
        failed = wait_status(http, phone, sent["id"], "failed")
        assert failed["error"]["code"] == 131047
        assert failed["error"]["title"] == "Re-engagement message"
        assert "24 hours" in failed["error"]["details"]
        assert len(sandbox.requests(sent["id"])) == 1  # never retried
        assert events(server, "message.retrying", sent["id"]) == []

        again = http.post(f"/api/messages/{sent['id']}/retry")
        assert again.status_code == 202, again.text
        assert again.json()["message"]["status"] == "queued"
        wait_status(http, phone, sent["id"], "sent")
        assert http.post(f"/api/messages/{sent['id']}/retry").status_code == 409
    assert len(sandbox.sent(sent["id"])) == 1
    [retry] = events(server, "message.retry", sent["id"])
    assert retry["actor"] == "agent:admin" and retry["data"]["text"] == "too late?"


def test_throughput_errors_are_retried_and_the_message_reaches_meta_once(
        server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000004"
    customer_writes(sandbox, server, phone)
    sandbox.behave(fail={"code": 130429, "times": 2})
    with server.client(headers=admin_headers(server)) as http:
        sent = send_text(http, phone, "busy line").json()["message"]
        wait_status(http, phone, sent["id"], "sent")
    outcomes = [r["outcome"] for r in sandbox.requests(sent["id"])]
    assert outcomes == ["error:130429", "error:130429", "accepted"]
    assert len(sandbox.sent(sent["id"])) == 1
    retries = events(server, "message.retrying", sent["id"])
    assert [r["data"]["error"]["code"] for r in retries] == [130429, 130429]
    assert retries[1]["data"]["delay"] >= retries[0]["data"]["delay"] / 2


def test_a_timeout_and_a_dropped_connection_are_retried(server: LiveServer,
                                                        sandbox: GraphSandbox):
    phone = "85290000005"
    customer_writes(sandbox, server, phone)
    sandbox.behave(slow={"seconds": 1.5}, drop={"on": "media"})
    with server.client(headers=admin_headers(server)) as http:
        slow = send_text(http, phone, "are you there?").json()["message"]
        wait_status(http, phone, slow["id"], "sent")
        dropped = http.post("/api/send", data={"phone": phone},
                            files={"file": ("dot.png", png(), "image/png")}).json()["message"]
        wait_status(http, phone, dropped["id"], "sent")
    [retry] = events(server, "message.retrying", slow["id"])
    assert "ReadTimeout" in retry["data"]["error"]["title"]
    [sent] = events(server, "message.sent", slow["id"])
    assert (sent["data"]["attempts"], sent["data"]["ambiguous_attempts"]) == (2, 1)
    # The timed-out request was processed after all: WhatsApp has no idempotency key, so
    # retrying a timeout can deliver twice. The log records the ambiguous attempt.
    wait_until(lambda: len(sandbox.sent(slow["id"])) == 2, 5)
    assert [(r["outcome"], r.get("slow")) for r in sandbox.requests(slow["id"])] == [
        ("accepted", None), ("accepted", 1.5)]
    assert [r["outcome"] for r in sandbox.requests(endpoint="media")] == ["dropped", "ok"]
    [sent] = events(server, "message.sent", dropped["id"])
    assert (sent["data"]["attempts"], sent["data"]["ambiguous_attempts"]) == (2, 0)


def test_an_expired_token_fails_the_message_and_raises_the_health_flag(
        server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000006"
    customer_writes(sandbox, server, phone)
    sandbox.behave(fail={"code": 190})
    with server.client(headers=admin_headers(server)) as http:
        sent = send_text(http, phone, "token?").json()["message"]
        failed = wait_status(http, phone, sent["id"], "failed")
        assert failed["error"]["code"] == 190
        channel = http.get("/healthz").json()["channel"]
        assert channel["ok"] is False and channel["code"] == 190
        assert channel["mode"] == "meta"
        assert len(sandbox.requests(sent["id"])) == 1

        fixed = send_text(http, phone, "token renewed").json()["message"]
        wait_status(http, phone, fixed["id"], "sent")
        wait_until(lambda: http.get("/healthz").json()["channel"]["ok"] is True,
                   message="the health flag to go down after a success")
    flags = [e["data"]["ok"] for e in events(server, "channel.health")]
    assert flags[-2:] == [False, True]


def test_an_account_error_reported_by_webhook_raises_the_flag_too(
        server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000009"
    customer_writes(sandbox, server, phone)
    sandbox.behave(fail_async={"code": 131031})
    with server.client(headers=admin_headers(server)) as http:
        sent = send_text(http, phone, "locked?").json()["message"]
        failed = wait_status(http, phone, sent["id"], "failed")
        assert (failed["error"]["code"], failed["error"]["title"]) == (
            131031, "Account has been locked")
        assert failed["wamid"] == sandbox.sent(sent["id"])[0]["wamid"]
        channel = http.get("/healthz").json()["channel"]
        assert (channel["ok"], channel["code"]) == (False, 131031)
        fine = send_text(http, phone, "unlocked").json()["message"]
        wait_status(http, phone, fine["id"], "sent")
        wait_until(lambda: http.get("/healthz").json()["channel"]["ok"] is True, 8,
                   message="a success after the webhook's flag to lower it")


def test_one_chat_is_sent_in_order(server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000007"
    customer_writes(sandbox, server, phone)
    sandbox.behave(fail={"code": 131000, "times": 1})  # the first one needs a retry
    with server.client(headers=admin_headers(server)) as http:
        ids = [send_text(http, phone, f"part {n}").json()["message"]["id"] for n in range(5)]
        wait_status(http, phone, ids[-1], "sent")
    accepted = [r["message_id"] for r in sandbox.requests(endpoint="messages")
                if r["outcome"] == "accepted"]
    assert accepted == ids


def test_reading_a_chat_zeroes_unread_and_marks_the_newest_message_read_at_meta(
        server: LiveServer, sandbox: GraphSandbox):
    phone = "85290000008"
    customer_writes(sandbox, server, phone, "one")
    customer_writes(sandbox, server, phone, "two")
    with server.client(headers=admin_headers(server)) as http:
        assert http.get(f"/api/chats/{phone}").json()["chat"]["unread"] == 2
        answer = http.post(f"/api/chats/{phone}/read")
        assert answer.status_code == 200, answer.text
        assert answer.json()["chat"]["unread"] == 0
        newest = http.get("/api/messages", params={"phone": phone}).json()["messages"][-1]
        assert http.post("/api/chats/85299999999/read").status_code == 404
    wait_until(lambda: sandbox.state.reads == [newest["wamid"]], 5,
               message="the read receipt to reach Meta")
    [read] = events(server, "chat.read")[-1:]
    assert read["actor"] == "agent:admin" and read["data"]["phone"] == phone


def test_templates_are_listed_from_the_graph_api_and_refreshed(server: LiveServer,
                                                               sandbox: GraphSandbox):
    with server.client(headers=admin_headers(server)) as http:
        listed = http.get("/api/templates").json()
        names = {t["name"] for t in listed["templates"]}
        assert {"hello_world", "order_update"} <= names and "summer_sale" not in names
        hello = next(t for t in listed["templates"] if t["name"] == "hello_world")
        assert (hello["language"], hello["category"]) == ("en_US", "UTILITY")
        assert hello["components"][0]["type"] == "HEADER"
        everything = http.get("/api/templates", params={"all": "1"}).json()["templates"]
        assert "summer_sale" in {t["name"] for t in everything}
        fetched = len(events(server, "templates.fetched"))
        sandbox.behave(fail={"code": 2, "on": "templates"})
        refused = http.post("/api/templates/refresh")
        assert refused.status_code == 502 and refused.json()["error"]["meta_code"] == 2
        assert http.post("/api/templates/refresh").status_code == 200
    assert len(events(server, "templates.fetched")) == fetched + 1
