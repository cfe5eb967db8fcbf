"""Sending to a username customer (issue #21): through the sandbox speaking Meta's Graph
API, a chat known only by its business-scoped id is sent to with ``recipient`` and no
``to``; a message Meta refuses for BSUIDs (131062) fails with Meta's reason; once the
customer's phone is linked, ``to`` it is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.sandbox import PHONE_NUMBER_ID
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.meta_payloads import body_of, contact, envelope, message, messages_change, post
from tests.sandbox_support import SECRET, GraphSandbox, send_text, start_crm, wait_status

USER_ID = "HK.200000000000000001"
PHONE = "85291110001"


@pytest.fixture
def sandbox() -> Iterator[GraphSandbox]:
    graph = GraphSandbox()
    yield graph
    graph.close()


@pytest.fixture
def server(data_dir: Path, sandbox: GraphSandbox) -> Iterator[LiveServer]:
    live = start_crm(data_dir, sandbox)
    yield live
    live.stop()


def username_customer_writes(http: httpx.Client, wamid: str, **ids: str) -> None:
    sent = message(wamid, None, "text", {"body": "hi"}, int(time.time()),
                   from_user_id=USER_ID)
    body = body_of(envelope(messages_change(
        [sent], contacts=[contact(ids.get("wa_id"), "Gi", USER_ID)],
        phone_number_id=PHONE_NUMBER_ID)))
    assert post(http, body, secret=SECRET).status_code == 200


def test_a_username_customer_is_sent_to_by_recipient_and_131062_fails_with_the_reason(
        server: LiveServer, sandbox: GraphSandbox) -> None:
    with server.client(headers=admin_headers(server)) as http:
        username_customer_writes(http, "wamid.s.1")
        answer = send_text(http, USER_ID, "hello Gi")
        assert answer.status_code == 202, answer.text
        message_id = answer.json()["message"]["id"]
        wait_status(http, USER_ID, message_id, "delivered")  # statuses by recipient_user_id
        [accepted] = sandbox.sent(message_id)
        assert accepted["payload"]["recipient"] == USER_ID
        assert "to" not in accepted["payload"]

        sandbox.state.extra_templates.append({  # Meta refuses these to a BSUID
            "name": "login_code", "language": "en_US", "status": "APPROVED",
            "category": "AUTHENTICATION", "id": "900000000000005",
            "components": [{"type": "BODY", "text": "{{1}} is your verification code."}]})
        template = {"name": "login_code", "language": "en_US", "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "123456"}]}]}
        answer = http.post("/api/send", json={"phone": USER_ID, "template": template})
        assert answer.status_code == 202, answer.text
        refused = wait_status(http, USER_ID, answer.json()["message"]["id"], "failed")
        assert refused["error"]["code"] == 131062
        assert "business-scoped user ID" in refused["error"]["details"]
        assert not sandbox.sent(answer.json()["message"]["id"])


def test_once_the_phone_is_linked_the_chat_is_sent_to_by_phone(
        server: LiveServer, sandbox: GraphSandbox) -> None:
    with server.client(headers=admin_headers(server)) as http:
        username_customer_writes(http, "wamid.s.2")
        username_customer_writes(http, "wamid.s.3", wa_id=PHONE)  # Meta shares the phone
        wait_until(lambda: http.get(f"/api/chats/{PHONE}").status_code == 200,
                   message="the phone to resolve to the chat")
        assert http.get(f"/api/chats/{PHONE}").json()["chat"]["phone"] == USER_ID
        answer = send_text(http, PHONE, "by phone now")  # any identifier names the chat
        assert answer.status_code == 202, answer.text
        queued = answer.json()["message"]
        assert queued["phone"] == USER_ID  # queued in the chat, under its key
        wait_status(http, USER_ID, queued["id"], "sent")
        [accepted] = sandbox.sent(queued["id"])
        assert accepted["payload"]["to"] == "+" + PHONE
        assert "recipient" not in accepted["payload"]
