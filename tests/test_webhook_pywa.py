"""Every scenario of Meta's sample payloads (pywa's fixtures in ../shared), signed and
posted to a real server, each with its own ids: the right events, chat and thread rows.

The samples repeat their scrubbed ids across scenarios (``wamid.xyzxyz``), which our
deduplication would rightly merge, so every id is given a per-scenario suffix first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers
from tests.meta_payloads import (
    PYWA,
    body_of,
    envelope,
    events_after,
    messages_change,
    position,
    post,
    text,
    webhook_server,
)

ID_KEYS = frozenset({"id", "message_id", "original_message_id"})
ANNOTATIONS = frozenset({"reaction", "edit", "revoke"})


def _load() -> list[Any]:
    if not PYWA.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"{PYWA} is absent: Meta's sample payloads live in ../shared beside the "
                   "checkout; tests/fixtures/whatsapp covers our own cases"))]
    found = []
    for path in sorted(PYWA.glob("*.json")):
        for name, payload in json.loads(path.read_text()).items():
            found.append(pytest.param(f"{path.stem}/{name}", payload, id=f"{path.stem}/{name}"))
    return found


def with_own_ids(value: Any, suffix: str) -> Any:
    """The payload with every message, status and media id made unique to a scenario."""
    if isinstance(value, dict):
        return {k: (f"{v}.{suffix}" if k in ID_KEYS and isinstance(v, str)
                    else with_own_ids(v, suffix)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_own_ids(v, suffix) for v in value]
    return value


M, S, C, E = "message.received", "message.status", "webhook.change", "webhook.error"
L, ECHO = "customer.linked", "message.echoed"
_MESSAGE_TYPES = {
    "text": "text", "image": "image", "media_with_url": "image", "video": "video",
    "document": "document", "audio": "audio", "voice": "audio", "static_sticker": "sticker",
    "animated_sticker": "sticker", "reaction": "reaction", "unreaction_empty": "reaction",
    "unreaction_no_emoji": "reaction", "current_location": "location",
    "chosen_location": "location", "contacts": "contacts", "order": "order",
    "unsupported": "unsupported", "unsupported_with_type": "unsupported", "reply": "text",
    "forwarded": "text", "forwarded_many_times": "text", "referral": "text",
}


def expected_kinds(scenario: str) -> list[tuple[str, str]] | None:
    """(event type, message type / status / field) Meta's scenario should give."""
    file, name = scenario.split("/", 1)
    if file == "message":
        if name == "interactive_message_with_err":
            return [(M, "interactive"), (E, "messages")]
        return [(M, _MESSAGE_TYPES[name])] if name in _MESSAGE_TYPES else None
    if file == "message_status":
        return [(S, {"with_tracker": "sent", "group": "read"}.get(name, name))]
    return {
        "account_update": [(C, "account_update")],
        "call_connect": [(C, "calls")],
        "call_status": [(C, "calls")],
        "call_terminate": [(C, "calls"), (E, "calls")],
        "call_permission_update": [(M, "interactive")],
        "callback_button": [(M, "interactive" if name == "button" else "button")],
        "callback_selection": [(M, "interactive")],
        "flow_completion": [(M, "interactive")],
        "deleted_message": [(M, "revoke")],
        "edited_message": [(M, "edit")],
        "system": [(M, "system")],
        "outgoing_message": [(ECHO, {"text": "text", "delete": "revoke"}.get(name, name))],
        "template_category_update": [(C, "template_category_update")],
        "template_components_update": [(C, "message_template_components_update")],
        "template_quality_update": [(C, "message_template_quality_update")],
        "template_status_update": [(C, "message_template_status_update")],
        "user_marketing_preferences": [(C, "user_preferences")],
    }.get(file)


#: Scenario-specific facts about the one message or status event it gives.
DETAILS: dict[str, Callable[[dict], bool]] = {
    "message/voice": lambda d: d["media"]["voice"] is True,
    "message/audio": lambda d: d["media"].get("voice") is not True,
    "message/document": lambda d: d["media"]["filename"] == "filename.pdf"
    and d["forwarded"] is True,
    "message/animated_sticker": lambda d: d["media"]["animated"] is True,
    "message/media_with_url": lambda d: d["media"]["url"].startswith("https://"),
    "message/reaction": lambda d: d["reaction"]["emoji"] == "\U0001f62e",
    "message/unreaction_empty": lambda d: d["reaction"]["emoji"] == "",
    "message/unreaction_no_emoji": lambda d: d["reaction"]["emoji"] == "",
    "message/reply": lambda d: d["reply_to_wamid"].startswith("wamid."),
    "message/forwarded_many_times": lambda d: d["frequently_forwarded"] is True,
    "message/referral": lambda d: d["referral"]["ctwa_clid"] == "CTWA_CLID",
    "message/order": lambda d: len(d["order"]["product_items"]) == 3,
    "message/contacts": lambda d: len(d["contacts"]) == 3,
    "message/current_location": lambda d: d["location"]["latitude"] == 12.25089,
    "message/unsupported_with_type": lambda d: d["unsupported"] == {"type": "pool"},
    "message/text": lambda d: d["text"] == "Body Text" and d["profile_name"] == "Test Name",
    "message_status/failed": lambda d: d["error"]["code"] == 130472,
    "message_status/with_tracker": lambda d: d["biz_opaque_callback_data"] == "some data",
    "flow_completion/completion": lambda d: d["interactive"]["type"] == "nfm_reply",
    "callback_button/quick_reply": lambda d: d["button"]["payload"] is not None,
    "system/phone_number_change": lambda d: d["system"]["wa_id"] == "972912345678",
    "edited_message/image": lambda d: d["edit"]["message"]["image"]["caption"]
    == "Updated image caption",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "webhook-pywa") as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    # An agent's client: /healthz tells only agents the log's position.
    with live.client(headers=admin_headers(live)) as c:
        yield c


def expected_links(payload: dict) -> set[tuple[str | None, str | None]]:
    """(phone, business-scoped id) pairs the scenario names one customer by: the
    ``customer.linked`` events it must give (issue #21)."""
    found: set[tuple[str | None, str | None]] = set()
    for entry in payload["entry"]:
        for change in entry["changes"]:
            if change["field"] not in ("messages", "smb_message_echoes"):
                continue  # calls and the rest stay webhook.change
            value = change["value"]
            for contact in value.get("contacts", []):
                if contact.get("wa_id") and contact.get("user_id"):
                    found.add((contact["wa_id"], contact["user_id"]))
            for status in value.get("statuses", []):
                if status.get("recipient_id") and status.get("recipient_user_id"):
                    found.add((status["recipient_id"], status["recipient_user_id"]))
            for echo in value.get("message_echoes", []):
                if echo.get("to") and echo.get("to_user_id"):
                    found.add((echo["to"], echo["to_user_id"]))
            contacts = value.get("contacts", [])
            for message in value.get("messages", []):
                # The one contact of a one-sender change is the sender's, even when
                # its wa_id is written otherwise than ``from``.
                user_id = message.get("from_user_id") or (
                    contacts[0].get("user_id") if len(contacts) == 1 else None)
                if message.get("from") and user_id:
                    found.add((message["from"], user_id))
                system = message.get("system") or {}
                if system.get("type") == "user_changed_number":
                    found.add((system.get("wa_id"), system.get("user_id")))
    return found


def _items(payload: dict, part: str) -> list[dict]:
    return [item for entry in payload["entry"] for change in entry["changes"]
            if change["field"] == "messages" for item in change["value"].get(part, [])]


def _detail(event: dict) -> str:
    data = event["data"]
    return data.get("message_type") or data.get("status") or data.get("field") or ""


@pytest.mark.parametrize(("scenario", "payload"), _load())
def test_meta_sample_scenario(live: LiveServer, client: httpx.Client, scenario: str,
                              payload: dict) -> None:
    suffix = scenario.replace("/", ".")
    payload = with_own_ids(payload, suffix)
    messages = _items(payload, "messages")
    targets = [m[m["type"]].get("message_id") or m[m["type"]].get("original_message_id")
               for m in messages if m.get("type") in ANNOTATIONS]
    if targets:  # the message an annotation names, so it has something to attach to
        sender = messages[0]["from"]
        assert post(client, body_of(envelope(messages_change(
            [text(t, sender, "the original") for t in targets])))).status_code == 200

    before = position(client)
    answer = post(client, body_of(payload))
    assert answer.status_code == 200, answer.text
    recorded = events_after(live, before)

    assert "webhook.unparsed" not in {e["type"] for e in recorded}
    expected = expected_kinds(scenario)
    if expected is not None:
        assert [(e["type"], _detail(e)) for e in recorded if e["type"] != L] == expected
    links = [e for e in recorded if e["type"] == L]
    pairs = expected_links(payload)
    # The samples share one customer, whose link an earlier scenario may have recorded
    # already: recorded once in the log, never again.
    logged = {(e["data"].get("wa_id"), e["data"].get("user_id"))
              for e in events_after(live, 0) if e["type"] == L}
    assert pairs <= logged
    assert {(e["data"].get("wa_id"), e["data"].get("user_id")) for e in links} <= pairs
    # A link comes before what it is about, so the projections know it first.
    assert all(e["position"] < min(r["position"] for r in recorded if r["type"] != L)
               for e in links)
    received = [e for e in recorded if e["type"] == M]
    statuses = [e for e in recorded if e["type"] == S]
    assert [e["idempotency_key"] for e in received] == [f"wa:{m['id']}" for m in messages]
    assert [e["idempotency_key"] for e in statuses] == [
        f"wa:{s['id']}:{s['status']}" for s in _items(payload, "statuses")]
    for event, raw in zip(received, messages, strict=True):
        assert event["stream"] == f"chat:{raw.get('from') or raw.get('from_user_id')}"
        assert event["data"]["raw"] == raw
        assert event["actor"] == "meta"
    if scenario in DETAILS:
        [event] = received or statuses
        assert DETAILS[scenario](event["data"]), event["data"]

    headers = admin_headers(live)
    for event in received:
        phone, kind = event["data"]["phone"], event["data"]["message_type"]
        chat = client.get(f"/api/chats/{phone}", headers=headers)
        assert chat.status_code == 200, chat.text
        if event["data"].get("profile_name"):
            assert chat.json()["chat"]["profile_name"] == event["data"]["profile_name"]
        rows = client.get("/api/messages", params={"phone": phone, "limit": 200},
                          headers=headers).json()["messages"]
        by_wamid = {row["wamid"]: row for row in rows}
        if kind in ANNOTATIONS:
            target = by_wamid[targets[0]]
            assert event["data"]["wamid"] not in by_wamid
            if kind == "reaction":
                emoji = event["data"]["reaction"]["emoji"]
                assert target["reactions"] == ([{"emoji": emoji, "from": phone}] if emoji
                                               else [])
            elif kind == "edit":
                assert target["text"] == "the original"
                assert target["edited"]["text"] == "Updated image caption"
            else:
                assert "revoked" in target and target["text"] == "the original"
        else:
            row = by_wamid[event["data"]["wamid"]]
            assert row["type"] == kind and row["direction"] == "in"
            assert row["text"] == event["data"].get("text")
    for event in (e for e in recorded if e["type"] == ECHO):  # the Business app's messages
        rows = client.get("/api/messages", params={"phone": event["data"]["phone"]},
                          headers=headers).json()["messages"]
        if event["data"]["message_type"] not in ANNOTATIONS:
            [row] = [r for r in rows if r["wamid"] == event["data"]["wamid"]]
            assert row["direction"] == "out" and row["agent"] == "WhatsApp Business app"
            assert row["text"] == "Test message"
    for event in statuses:  # receipts of our own messages never become inbound rows
        rows = client.get("/api/messages", params={"phone": event["data"]["phone"]},
                          headers=headers)
        assert event["data"]["wamid"] not in {r["wamid"] for r in
                                              rows.json().get("messages", [])}


def test_a_replay_rebuilds_exactly_the_rows_the_webhooks_built(live: LiveServer) -> None:
    """Runs last in this module: the handlers are deterministic over everything above."""
    if not PYWA.is_dir():
        pytest.skip(f"{PYWA} is absent: no scenarios were posted")
    result = check(live.db_path, default_projector())
    assert result.position > 0
    assert result.identical, result.differences
