"""Starting a conversation with a template whose header is an image (issue #16): the
file uploaded with the send, or one already in the thread, reaches the fake Graph API
as the uploaded media id in the header's parameter, beside the body variables and
the buttons' parameters; and the new chat is in the sidebar.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crm.sandbox.state import TEMPLATES
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, start_crm
from tests.team_support import refused

NEW = "85291230001"
#: A real 1x1 PNG: WhatsApp (and crm) send as an image only what is one.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

TRIP_PHOTO = {
    "name": "trip_photo", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
    "id": "900000000000099", "components": [
        {"type": "HEADER", "format": "IMAGE",
         "example": {"header_handle": ["https://scontent.example/photo.jpg"]}},
        {"type": "BODY", "text": "Hi {{1}}, here is your kayak trip on {{2}}.",
         "example": {"body_text": [["Ana", "Saturday"]]}},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "See the route", "url": "https://trips.example/r/{{1}}",
             "example": ["https://trips.example/r/abc123"]},
            {"type": "QUICK_REPLY", "text": "Book again"},
            {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+85212345678"}]}]}

#: What the page sends for it (the header's file goes beside it).
COMPONENTS = [
    {"type": "body", "parameters": [{"type": "text", "text": "Dee"},
                                    {"type": "text", "text": "Sunday"}]},
    {"type": "button", "sub_type": "url", "index": "0",
     "parameters": [{"type": "text", "text": "xyz789"}]},
    {"type": "button", "sub_type": "quick_reply", "index": "1",
     "parameters": [{"type": "payload", "payload": "book-again"}]}]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    graph = GraphSandbox()
    graph.state.extra_templates.append(TRIP_PHOTO)
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sandbox: GraphSandbox) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("new-conversation") / "data"
    data.mkdir()
    server = start_crm(data, sandbox, CRM_DEFAULT_COUNTRY_CODE="852")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


def accepted_by_meta(sandbox: GraphSandbox, message_id: str) -> dict[str, Any]:
    [found] = wait_until(lambda: sandbox.sent(message_id), message="the template at Meta")
    return found["payload"]


def uploads(sandbox: GraphSandbox) -> list[str]:
    return [r["media_id"] for r in sandbox.requests(endpoint="media") if r["outcome"] == "ok"]


def test_the_template_list_says_what_each_template_takes(http: httpx.Client) -> None:
    listed = {t["name"]: t for t in http.get("/api/templates").json()["templates"]}
    trip = listed["trip_photo"]
    assert trip["unsupported"] == []
    assert trip["parameters"] == [
        {"component": "header", "type": "image",
         "example": "https://scontent.example/photo.jpg"},
        {"component": "body", "type": "text", "name": "1", "example": "Ana"},
        {"component": "body", "type": "text", "name": "2", "example": "Saturday"},
        {"component": "button", "index": 0, "sub_type": "url", "type": "text",
         "text": "See the route", "url": "https://trips.example/r/{{1}}",
         "example": "https://trips.example/r/abc123"},
        {"component": "button", "index": 1, "sub_type": "quick_reply", "type": "payload",
         "text": "Book again", "required": False}]
    assert listed["hello_world"]["parameters"] == []
    assert listed["order_update"]["parameters"][1]["example"] == "#123"
    assert {t["name"] for t in TEMPLATES if t["status"] == "APPROVED"} < set(listed)


def test_a_new_number_gets_an_image_header_template(http: httpx.Client, live: LiveServer,
                                                    sandbox: GraphSandbox) -> None:
    # The number as typed, normalised with CRM_DEFAULT_COUNTRY_CODE before anything is sent.
    assert http.get("/api/numbers", params={"number": "9123 0001"}).json() == {
        "phone": NEW, "contact": None}
    template = {"name": "trip_photo", "language": "en_US", "components": COMPONENTS}
    # Without its file the template is refused here, not by Meta a moment later.
    refused(http.post("/api/send", json={"phone": NEW, "template": template}), 400,
            "bad_header_media")
    refused(http.post("/api/send", data={"phone": NEW, "template": json.dumps(template)},
                      files={"file": ("notes.pdf", b"%PDF-1.4 x", "application/pdf")}),
            400, "bad_header_media")

    answer = http.post("/api/send", data={"phone": NEW, "template": json.dumps(template)},
                       files={"file": ("kayak.png", PNG, "image/png")},
                       headers={"Idempotency-Key": "trip-1"})
    assert answer.status_code == 202, answer.text
    message = answer.json()["message"]
    assert message["type"] == "template" and message["media"]["mime_type"] == "image/png"

    payload = accepted_by_meta(sandbox, message["id"])
    [media_id] = uploads(sandbox)
    assert payload["to"] == "+" + NEW and payload["type"] == "template"
    assert payload["template"] == {
        "name": "trip_photo", "language": {"code": "en_US"},
        "components": [{"type": "header", "parameters": [
            {"type": "image", "image": {"id": media_id}}]}, *COMPONENTS]}
    with sandbox.state.lock:
        assert sandbox.state.media[media_id]["content"] == PNG

    chats = http.get("/api/chats").json()["chats"]
    row = next(c for c in chats if c["phone"] == NEW)
    assert row["last_message"]["id"] == message["id"]


def test_a_file_of_the_thread_can_be_the_header(http: httpx.Client, live: LiveServer,
                                                sandbox: GraphSandbox) -> None:
    phone = "85291230002"
    media_id = sandbox.state.store_media(PNG, "image/png", None)
    sandbox.state.customer_says(phone, "Eve", None, image={"id": media_id,
                                                           "mime_type": "image/png"})

    def kept() -> dict[str, Any] | None:
        found = http.get("/api/messages", params={"phone": phone}).json().get("messages", [])
        return next((m for m in found if (m.get("media") or {}).get("sha256")), None)

    photo = wait_until(kept, message="the customer's photo to be kept")
    template = {"name": "trip_photo", "language": "en_US", "components": COMPONENTS}
    answer = http.post("/api/send", json={"phone": phone, "template": template,
                                          "header_media": {"message_id": photo["id"]}})
    assert answer.status_code == 202, answer.text
    payload = accepted_by_meta(sandbox, answer.json()["message"]["id"])
    header = payload["template"]["components"][0]
    uploaded = header["parameters"][0]["image"]["id"]
    assert uploaded != media_id and uploaded in uploads(sandbox)
    with sandbox.state.lock:
        assert sandbox.state.media[uploaded]["content"] == PNG
    refused(http.post("/api/send", json={"phone": NEW, "template": template,
                                         "header_media": {"message_id": photo["id"]}}),
            400, "bad_header_media")  # not a message of that chat

    # An API client may name the file itself, as Meta takes it: a link, passed as is.
    linked = {"type": "header", "parameters": [
        {"type": "image", "image": {"link": "https://cdn.example/kayak.jpg"}}]}
    answer = http.post("/api/send", json={"phone": phone, "template": {
        **template, "components": [linked, *COMPONENTS]}})
    assert answer.status_code == 202, answer.text
    payload = accepted_by_meta(sandbox, answer.json()["message"]["id"])
    assert payload["template"]["components"][0] == linked
