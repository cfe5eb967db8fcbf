"""``POST /api/send`` as agents see it: what is refused and why, idempotency, who sent
what, and files kept and served safely. A real ``crm serve`` and the fake Graph API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer, admin_headers
from tests.sandbox_support import (
    GraphSandbox,
    customer_writes,
    events,
    send_text,
    start_crm,
    wait_status,
)

RECENT, STALE, SILENT = "85291000001", "85291000002", "85291000003"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("send-api") / "data"
    data_dir.mkdir()
    live = start_crm(data_dir, sandbox)
    customer_writes(sandbox, live, RECENT, "hi")
    customer_writes(sandbox, live, STALE, "hi, a while ago", hours_ago=25)
    yield live
    live.stop()


def second_agent(server: LiveServer, name: str) -> dict[str, str]:
    """A non-admin agent, with a token from the CLI (``crm tokens create``)."""
    with server.client(headers=admin_headers(server)) as http:
        made = http.post("/api/agents", json={"name": name, "password": "a-long-password-1"})
        assert made.status_code == 201, made.text
    token = subprocess.run(
        [sys.executable, "-m", "crm.cli", "tokens", "create", name, "--label", "tests"],
        env=server.env, capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def test_refusals_are_clear(server: LiveServer):
    with server.client(headers=admin_headers(server)) as http:
        def refused(status: int, code: str, **kwargs) -> None:
            answer = http.post("/api/send", **kwargs)
            assert answer.status_code == status, answer.text
            assert answer.json()["error"]["code"] == code, answer.text

        refused(400, "empty_text", json={"phone": RECENT, "text": "   "})
        refused(400, "text_too_long", json={"phone": RECENT, "text": "x" * 4097})
        refused(400, "bad_phone", json={"phone": "+852 9100 0001", "text": "hi"})
        refused(400, "bad_phone", json={"phone": "1234", "text": "hi"})
        refused(404, "unknown_chat", json={"phone": SILENT, "text": "hi"})
        refused(400, "bad_json", content=b"not json", headers={"Content-Type": "text/plain"})
        refused(400, "bad_template", json={"phone": RECENT, "template": {"name": "Hello!"}})
        refused(400, "bad_reply_to", json={"phone": RECENT, "text": "hi", "reply_to": "nope"})
        big = b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)
        refused(413, "file_too_large", data={"phone": RECENT},
                files={"file": ("big.jpg", big, "image/jpeg")})
        refused(400, "missing_file", data={"phone": RECENT})
        assert http.post("/api/send", json={"phone": RECENT, "text": "x" * 4096}
                         ).status_code == 202
    assert events(server, "message.queued", None)[-1]["data"]["text"] == "x" * 4096


def test_after_the_window_free_text_is_refused_and_a_template_is_accepted(
        server: LiveServer, sandbox: GraphSandbox):
    with server.client(headers=admin_headers(server)) as http:
        chat = http.get(f"/api/chats/{STALE}").json()["chat"]
        assert chat["window_expires_at"] is not None
        note = {"file": ("a.txt", b"hi", "text/plain")}
        for request in ({"json": {"phone": STALE, "text": "still there?"}},
                        {"data": {"phone": STALE}, "files": note}):
            answer = http.post("/api/send", **request)
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "window_closed"
        template = {"name": "order_update", "language": "en_US", "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                            {"type": "text", "text": "#123"}]}]}
        answer = http.post("/api/send", json={"phone": STALE, "template": template})
        assert answer.status_code == 202, answer.text
        queued = answer.json()["message"]
        assert queued["type"] == "template" and queued["template"]["name"] == "order_update"
        wait_status(http, STALE, queued["id"], "sent")

        # A template may start a conversation with any well-formed number.
        fresh = "447700900123"
        first = http.post("/api/send", json={"phone": fresh, "template": {
            "name": "hello_world", "language": "en_US"}})
        assert first.status_code == 202, first.text
        assert http.get(f"/api/chats/{fresh}").status_code == 200
        wait_status(http, fresh, first.json()["message"]["id"], "delivered")
        assert http.post("/api/send", json={"phone": fresh, "text": "hi"}).status_code == 409
    [at_meta] = sandbox.sent(queued["id"])
    assert at_meta["payload"]["template"] == {"name": "order_update",
                                              "language": {"code": "en_US"},
                                              "components": template["components"]}


def test_the_request_phone_alone_names_the_recipient(server: LiveServer,
                                                     sandbox: GraphSandbox):
    """No fallback to an earlier view: a send right after one to RECENT, naming a
    number with no chat (or none), reaches nobody; a key reused for another chat is
    refused, never replayed as the other chat's message."""
    with server.client(headers=admin_headers(server)) as http:
        first = http.post("/api/send", json={"phone": RECENT, "text": "to the right one"},
                          headers={"Idempotency-Key": "route-1"})
        assert first.status_code == 202, first.text
        queued = len(events(server, "message.queued"))
        stray = http.post("/api/send", json={"phone": "85299999999", "text": "to nobody"})
        assert (stray.status_code, stray.json()["error"]["code"]) == (404, "unknown_chat")
        blank = http.post("/api/send", json={"text": "to whom?"})
        assert (blank.status_code, blank.json()["error"]["code"]) == (400, "bad_phone")
        reused = http.post("/api/send", json={"phone": STALE, "template": {
            "name": "hello_world", "language": "en_US"}}, headers={"Idempotency-Key": "route-1"})
        assert reused.status_code == 409, reused.text
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
        assert len(events(server, "message.queued")) == queued
        wait_status(http, RECENT, first.json()["message"]["id"], "sent")
        assert [m["to"] for m in sandbox.sent(first.json()["message"]["id"])] == [RECENT]


def test_a_repeated_idempotency_key_queues_once_per_agent(server: LiveServer,
                                                          sandbox: GraphSandbox):
    bob = second_agent(server, "bob")
    with server.client(headers=admin_headers(server)) as admin, server.client(headers=bob) as b:
        first = send_text(admin, RECENT, "only once", **{"Idempotency-Key": "click-1"})
        again = send_text(admin, RECENT, "only once", **{"Idempotency-Key": "click-1"})
        assert first.status_code == again.status_code == 202
        assert again.json()["message"]["id"] == first.json()["message"]["id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        # The key is the agent's own: bob's identical key is another request.
        bobs = send_text(b, RECENT, "only once", **{"Idempotency-Key": "click-1"})
        assert bobs.json()["message"]["id"] != first.json()["message"]["id"]
        assert bobs.json()["message"]["agent"] == "bob"
        wait_status(admin, RECENT, first.json()["message"]["id"], "sent")
        wait_status(admin, RECENT, bobs.json()["message"]["id"], "sent")
    queued = [e for e in events(server, "message.queued") if e["data"].get("text") == "only once"]
    assert [e["key"] for e in queued] == ["send:admin:click-1", "send:bob:click-1"]
    assert len(sandbox.sent(first.json()["message"]["id"])) == 1


def test_the_actor_of_a_sent_message_is_the_agent_who_sent_it(server: LiveServer):
    carol = second_agent(server, "carol")
    with server.client(headers=carol) as http:
        sent = send_text(http, RECENT, "from carol").json()["message"]
        assert sent["agent"] == "carol"
        wait_status(http, RECENT, sent["id"], "sent")
    actors = {e["type"]: e["actor"] for e in events(server, message_id=sent["id"])}
    assert actors == {"message.queued": "agent:carol", "message.dispatching": "agent:carol",
                      "message.sent": "agent:carol"}


def test_files_are_kept_and_never_served_inline_as_a_page(server: LiveServer):
    page = b"<html><script>alert(1)</script></html>"
    with server.client(headers=admin_headers(server)) as http:
        answer = http.post("/api/send", data={"phone": RECENT, "caption": "the plan"},
                           files={"file": ("plan.html", page, "text/html")})
        assert answer.status_code == 202, answer.text
        sent = answer.json()["message"]
        assert sent["type"] == "document" and sent["media"]["filename"] == "plan.html"
        served = http.get(sent["media"]["url"])
        assert served.content == page
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in served.headers["content-security-policy"]
        # Not a JPEG inside: sent as a document, never shown as an image.
        fake = http.post("/api/send", data={"phone": RECENT},
                         files={"file": ("x.jpg", b"GIF89a....", "image/jpeg")})
        assert fake.json()["message"]["type"] == "document"
        assert http.get("/media/" + "0" * 64).status_code == 404
    with server.client() as anonymous:
        assert anonymous.get(sent["media"]["url"]).status_code in (302, 401)


def test_only_the_send_route_takes_large_bodies(server: LiveServer):
    body = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    with server.client() as http:
        assert http.post("/webhook/whatsapp", content=body).status_code == 413
