"""One customer, one conversation (issue #21): a phone, business-scoped ids (BSUIDs) and
a username name one person, whichever of them Meta sends, live and after replay.

Real servers on 127.0.0.1 and Meta's webhook shapes; the send tests go through the
sandbox speaking the Graph API.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crm.events import EventStore
from crm.events.customers import CustomerUpdated, customer_stream
from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers, start_server
from tests.factories import queued, sent
from tests.meta_payloads import (
    BASE_TS,
    SECRET,
    VERIFY_TOKEN,
    body_of,
    contact,
    envelope,
    events_after,
    message,
    messages_change,
    position,
    post,
    status,
    text,
    webhook_server,
)

DAY = 86400


def bsuid_text(wamid: str, user_id: str, body: str, ts: int, **extra: Any) -> dict:
    """A username customer's message: ``from_user_id`` and no ``from``."""
    return message(wamid, None, "text", {"body": body}, ts, from_user_id=user_id, **extra)


def with_username(found: dict, username: str) -> dict:
    found["profile"]["username"] = username
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "identity") as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


def deliver(http: httpx.Client, *changes: dict) -> None:
    answer = post(http, body_of(envelope(*changes)))
    assert answer.status_code == 200, answer.text


def sheet(live: LiveServer, phone: str, name: str) -> None:
    """The customer list names a phone (what a sheet or CSV sync records)."""
    store = EventStore(live.db_path, default_projector())
    try:
        store.record([CustomerUpdated(phone=phone, name=name, source="csv:test.csv").new(
            customer_stream(phone))])
    finally:
        store.close()


def thread(http: httpx.Client, identifier: str) -> list[dict]:
    answer = http.get("/api/messages", params={"phone": identifier, "limit": 200})
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def chat(http: httpx.Client, identifier: str) -> dict:
    answer = http.get(f"/api/chats/{identifier}")
    assert answer.status_code == 200, answer.text
    return answer.json()["chat"]


def keys(http: httpx.Client, q: str | None = None) -> list[str]:
    params = {"limit": 200, **({"q": q} if q else {})}
    return [c["phone"] for c in http.get("/api/chats", params=params).json()["chats"]]


def replay_check(live: LiveServer) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm.cli", "replay", "--check"],
                          env=live.env, capture_output=True, text=True, timeout=120)


# -- linking ---------------------------------------------------------------------------


def test_phone_and_bsuid_then_bsuid_only_thirty_days_later_is_one_chat(
        live: LiveServer, http: httpx.Client) -> None:
    phone, user_id = "85290000001", "HK.100000000000000001"
    sheet(live, phone, "Ana Sheet")
    first = envelope(messages_change(
        [text("wamid.id1.a", phone, "hello", BASE_TS, from_user_id=user_id)],
        contacts=[contact(phone, "Ana", user_id)]))
    before = position(http)
    for _ in range(2):  # Meta's retry: the same link is recorded once
        assert post(http, body_of(first)).status_code == 200
    assert [e["type"] for e in events_after(live, before)] == ["customer.linked",
                                                               "message.received"]
    # Thirty days later Meta no longer shares the phone: only the BSUID and a username.
    deliver(http, messages_change(
        [bsuid_text("wamid.id1.b", user_id, "it's me again", BASE_TS + 30 * DAY)],
        contacts=[with_username(contact(None, "Ana", user_id), "ana.k")]))

    assert phone in keys(http) and user_id not in keys(http)
    for identifier in (phone, user_id):
        found = chat(http, identifier)
        assert found["phone"] == phone  # the key it started with
        assert found["name"] == "Ana Sheet" and found["unread"] == 2
        assert found["identifiers"] == {"wa_id": phone, "user_id": user_id,
                                        "parent_user_id": None, "username": "ana.k"}
        assert [m["text"] for m in thread(http, identifier)] == ["hello", "it's me again"]
    for q in (phone, user_id, "ana.k", "@ana.k"):
        assert keys(http, q) == [phone], q


def test_a_username_chat_and_a_phone_chat_are_merged_when_linked(
        live: LiveServer, http: httpx.Client) -> None:
    phone, user_id = "85290000002", "HK.100000000000000002"
    sheet(live, phone, "Bo Sheet")
    deliver(http, messages_change(  # a username customer writes first
        [bsuid_text("wamid.id2.a", user_id, "one", BASE_TS)],
        contacts=[with_username(contact(None, "Bo", user_id), "bo")]))
    deliver(http, messages_change(  # the same person, from their phone, as a new chat
        [text("wamid.id2.b", phone, "two", BASE_TS + 60)], contacts=[contact(phone, "Bo")]))
    assert {phone, user_id} <= set(keys(http))
    assert chat(http, user_id)["name"] == "Bo"  # not yet known to be the sheet's Bo

    # A status of an earlier reply names both: they are one customer.
    deliver(http, messages_change(
        statuses=[status("wamid.unknown.id2", phone, "read", BASE_TS + 90,
                         recipient_user_id=user_id)]))
    deliver(http, messages_change([text("wamid.id2.c", phone, "three", BASE_TS + 120)]))

    def merged(found: list[str]) -> None:
        assert user_id in found and phone not in found

    merged(keys(http))
    for identifier in (phone, user_id):
        found = chat(http, identifier)
        assert found["phone"] == user_id  # the older chat's key stays
        assert found["unread"] == 3 and found["name"] == "Bo Sheet"
        assert found["identifiers"]["wa_id"] == phone
        assert found["identifiers"]["username"] == "bo"
        assert [m["text"] for m in thread(http, identifier)] == ["one", "two", "three"]
    assert keys(http, "Bo Sheet") == [user_id]

    checked = replay_check(live)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "crm.cli", "replay"], env=live.env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    merged(keys(http))
    assert [m["text"] for m in thread(http, phone)] == ["one", "two", "three"]
    assert chat(http, phone)["unread"] == 3


def test_a_status_with_only_recipient_user_id_updates_the_outbound_message(
        live: LiveServer, http: httpx.Client) -> None:
    user_id = "HK.100000000000000003"
    deliver(http, messages_change([bsuid_text("wamid.id3.a", user_id, "hi", BASE_TS)],
                                  contacts=[contact(None, "Cy", user_id)]))
    store = EventStore(live.db_path, default_projector())
    try:
        store.record([queued("id3-out", user_id), sent("id3-out", "wamid.id3.out", user_id)])
    finally:
        store.close()
    deliver(http, messages_change(statuses=[
        {"id": "wamid.id3.out", "status": "delivered", "timestamp": str(BASE_TS + 5),
         "recipient_user_id": user_id}]))
    [out] = [m for m in thread(http, user_id) if m["direction"] == "out"]
    assert out["id"] == "id3-out" and out["status"] == "delivered"


def test_user_changed_number_links_the_new_phone_and_bsuid(
        live: LiveServer, http: httpx.Client) -> None:
    old, old_id = "85290000004", "HK.100000000000000004"
    new, new_id = "85290000044", "HK.100000000000000044"
    deliver(http, messages_change(
        [text("wamid.id4.a", old, "before", BASE_TS, from_user_id=old_id)],
        contacts=[contact(old, "Di", old_id)]))
    notice = {"body": f"Di changed from {old} to {new}", "type": "user_changed_number",
              "wa_id": new, "user_id": new_id}
    deliver(http, messages_change([message("wamid.id4.b", old, "system", notice,
                                            BASE_TS + 10)]))
    deliver(http, messages_change([text("wamid.id4.c", new, "from the new phone",
                                        BASE_TS + 20)]))
    deliver(http, messages_change([bsuid_text("wamid.id4.d", new_id, "by the new id",
                                              BASE_TS + 30)]))
    assert not {new, new_id} & set(keys(http))
    rows = thread(http, new_id)
    assert [m["type"] for m in rows] == ["text", "system", "text", "text"]
    assert rows[1]["text"] == notice["body"]  # the notice, in the thread
    assert {m["phone"] for m in rows} == {old}
    assert chat(http, new)["identifiers"]["wa_id"] == new  # the newest phone
    assert chat(http, new)["identifiers"]["user_id"] == new_id


# -- #13 item 8: a sender named only in contacts[] --------------------------------------


def test_a_message_without_from_takes_its_key_from_the_one_contact(
        live: LiveServer, http: httpx.Client) -> None:
    user_id = "HK.100000000000000005"
    bare = message("wamid.id5.a", None, "text", {"body": "no from at all"}, BASE_TS)
    deliver(http, messages_change([bare], contacts=[contact(None, "Ed", user_id)]))
    assert [m["text"] for m in thread(http, user_id)] == ["no from at all"]
    phone_only = message("wamid.id5.b", None, "text", {"body": "wa_id only"}, BASE_TS)
    deliver(http, messages_change([phone_only], contacts=[contact("85290000005", "Ed")]))
    assert [m["text"] for m in thread(http, "85290000005")] == ["wa_id only"]

    before = position(http)
    orphan = message("wamid.id5.c", None, "text", {"body": "nobody"}, BASE_TS)
    deliver(http, messages_change([orphan], contacts=[contact("85290000006", "A"),
                                                      contact("85290000007", "B")]))
    deliver(http, messages_change([message("wamid.id5.d", None, "text", {"body": "x"})]))
    assert [e["type"] for e in events_after(live, before)] == ["webhook.unparsed"] * 2


# -- #13 item 11: coexistence -------------------------------------------------------------


def test_business_app_echoes_are_outbound_messages_with_their_statuses(
        live: LiveServer, http: httpx.Client) -> None:
    phone = "85290000008"
    deliver(http, messages_change([text("wamid.id8.a", phone, "price?", BASE_TS)],
                                  contacts=[contact(phone, "Fa")]))
    echo = {"from": "15550001111", "to": phone, "id": "wamid.id8.echo",
            "timestamp": str(BASE_TS + 30), "type": "text", "text": {"body": "12 EUR"}}
    deliver(http, {"field": "smb_message_echoes", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
        "message_echoes": [echo]}})
    deliver(http, messages_change(statuses=[status("wamid.id8.echo", phone, "read",
                                                   BASE_TS + 40)]))
    rows = thread(http, phone)
    assert [(m["direction"], m["text"]) for m in rows] == [("in", "price?"), ("out", "12 EUR")]
    assert rows[1]["agent"] == "WhatsApp Business app" and rows[1]["status"] == "read"
    assert chat(http, phone)["unread"] == 1  # the echo is news, not unread


def test_history_becomes_imported_messages_in_order_without_unread(
        live: LiveServer, http: httpx.Client) -> None:
    phone = "85290000009"
    business = "15550001111"
    old = BASE_TS - 40 * DAY
    history = {"field": "history", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": business, "phone_number_id": "PNID1"},
        "history": [{"metadata": {"phase": 1, "chunk_order": 1, "progress": 100},
                     "threads": [{"id": phone, "messages": [
                         {"from": phone, "id": "wamid.id9.a", "timestamp": str(old),
                          "type": "text", "text": {"body": "old question"},
                          "history_context": {"status": "READ"}},
                         {"from": business, "to": phone, "id": "wamid.id9.b",
                          "timestamp": str(old + 60), "type": "text",
                          "text": {"body": "old answer"},
                          "history_context": {"status": "DELIVERED"}}]}]}]}}
    before = position(http)
    deliver(http, history)
    recorded = events_after(live, before)
    assert [e["type"] for e in recorded] == ["message.received", "message.echoed"]
    assert all(e["data"]["imported"] is True for e in recorded)
    rows = thread(http, phone)
    assert [(m["direction"], m["text"], m["imported"]) for m in rows] == [
        ("in", "old question", True), ("out", "old answer", True)]
    found = chat(http, phone)
    assert found["unread"] == 0 and found["window_expires_at"] is None


# -- #13 item 6: another number of the account ------------------------------------------


def test_webhooks_for_another_phone_number_id_stay_out_of_the_inbox(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("number") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, WHATSAPP_APP_SECRET=SECRET,
                          WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN, WHATSAPP_PHONE_NUMBER_ID="111")
    try:
        with server.client(headers=admin_headers(server)) as client:
            before = position(client)
            deliver(client, messages_change([text("wamid.n.1", "85290000010", "elsewhere")],
                                            phone_number_id="222"))
            deliver(client, messages_change([text("wamid.n.2", "85290000011", "here")],
                                            phone_number_id="111"))
            recorded = events_after(server, before)
            assert [(e["type"], e["data"].get("field")) for e in recorded] == [
                ("webhook.change", "messages"), ("message.received", None)]
            assert keys(client) == ["85290000011"]
            assert client.get("/api/chats/85290000010").status_code == 404
    finally:
        server.stop()


def test_a_merge_combines_the_team_state_of_both_chats(
        live: LiveServer, http: httpx.Client) -> None:
    """Notes, labels and the assignee follow the customer into the surviving chat, and an
    agent action naming the other identifier lands there too, live and after replay."""
    phone, user_id = "85290000019", "HK.100000000000000019"
    deliver(http, messages_change(
        [bsuid_text("wamid.id19.a", user_id, "hi from my username", BASE_TS)],
        contacts=[with_username(contact(None, "Cy", user_id), "cy")]))
    deliver(http, messages_change(
        [text("wamid.id19.b", phone, "hi from my phone", BASE_TS + 60)],
        contacts=[contact(phone, "Cy")]))
    label = http.post("/api/labels", json={"name": "vip-merge", "color": "#aa0000"})
    assert label.status_code in (200, 201), label.text
    assert http.post(f"/api/chats/{user_id}/notes", json={"text": "knows us"}).status_code \
        in (200, 201)
    assert http.post(f"/api/chats/{phone}/labels", json={"add": ["vip-merge"]}
                     ).status_code == 200
    assert http.post(f"/api/chats/{phone}/assign", json={"agent": "admin"}).status_code == 200
    assert http.post(f"/api/chats/{user_id}/status", json={"status": "resolved"}
                     ).status_code == 200

    deliver(http, messages_change(  # both identifiers in one item: one customer
        [text("wamid.id19.c", phone, "still me", BASE_TS + 120, from_user_id=user_id)]))

    def combined(notes: list[str]) -> None:
        found = chat(http, phone)
        assert found["phone"] == user_id
        assert found["assignee"] == "admin"
        assert found["labels"] == ["vip-merge"]
        assert found["status"] == "open"  # the phone chat waits for an answer
        items = thread(http, user_id)
        assert [m["text"] for m in items if m["direction"] == "note"] == notes
        assert phone not in keys(http)

    combined(["knows us"])
    # An action by the other identifier after the merge lands on the survivor.
    assert http.post(f"/api/chats/{phone}/notes", json={"text": "after the merge"}
                     ).status_code in (200, 201)
    combined(["knows us", "after the merge"])
    checked = replay_check(live)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "crm.cli", "replay"], env=live.env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    combined(["knows us", "after the merge"])


def test_replay_reaches_the_same_rows(live: LiveServer) -> None:
    """Runs last in this module: everything above, rebuilt, is what the server built."""
    result = check(live.db_path, default_projector())
    assert result.identical, result.differences
