"""The pure parser: Meta's webhook bytes in, events out, for every shape Meta documents."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.events.hashing import canonical_json
from crm.whatsapp import parse_webhook
from tests.meta_payloads import (
    BASE_TS,
    body_of,
    contact,
    envelope,
    message,
    messages_change,
    status,
    text,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ALICE = "5511999990001"


def parse(payload: object) -> list:
    return parse_webhook(body_of(payload), NOW)


def one(msg: dict, contacts: tuple = (contact(ALICE, "Alice"),)) -> dict:
    """The data of the single event a one-message webhook gives."""
    events = parse(envelope(messages_change([msg], contacts=contacts)))
    assert [e.type for e in events] == ["message.received"]
    assert events[0].actor == "meta"
    return events[0].data


def test_text_message_envelope_fields() -> None:
    [event] = parse(envelope(messages_change([text("wamid.T1", ALICE, "Olá")],
                                             contacts=[contact(ALICE, "Alice")])))
    assert event.type == "message.received"
    assert event.stream == f"chat:{ALICE}"
    assert event.idempotency_key == "wa:wamid.T1"
    assert event.occurred_at == datetime.fromtimestamp(BASE_TS, UTC)
    data = event.data
    assert data["phone"] == ALICE and data["wamid"] == "wamid.T1"
    assert data["message_type"] == "text" and data["text"] == "Olá"
    assert data["profile_name"] == "Alice"
    assert data["phone_number_id"] == "PNID1"
    assert data["raw"] == text("wamid.T1", ALICE, "Olá")


@pytest.mark.parametrize("kind", ["image", "video"])
def test_image_and_video_carry_media_and_caption(kind: str) -> None:
    media = {"id": "M1", "mime_type": f"{kind}/x", "sha256": "abc=", "caption": "look",
             "url": "https://lookaside.fbsbx.com/x"}
    data = one(message("wamid.M", ALICE, kind, media))
    assert data["message_type"] == kind
    assert data["caption"] == "look"
    assert data["media"] == {"id": "M1", "mime_type": f"{kind}/x", "sha256": "abc=",
                             "url": "https://lookaside.fbsbx.com/x"}


def test_audio_voice_note_is_flagged() -> None:
    voice = one(message("wamid.A1", ALICE, "audio",
                        {"id": "A", "mime_type": "audio/ogg; codecs=opus", "sha256": "s",
                         "voice": True}))
    assert voice["message_type"] == "audio" and voice["media"]["voice"] is True
    plain = one(message("wamid.A2", ALICE, "audio", {"id": "B", "mime_type": "audio/mpeg",
                                                     "sha256": "s"}))
    assert "voice" not in plain["media"]


def test_document_keeps_its_filename() -> None:
    data = one(message("wamid.D", ALICE, "document",
                       {"id": "D", "mime_type": "application/pdf", "sha256": "s",
                        "filename": "invoice.pdf", "caption": "the invoice"}))
    assert data["media"]["filename"] == "invoice.pdf"
    assert data["caption"] == "the invoice"


def test_sticker_animated_flag() -> None:
    data = one(message("wamid.S", ALICE, "sticker",
                       {"id": "S", "mime_type": "image/webp", "sha256": "s", "animated": True}))
    assert data["message_type"] == "sticker" and data["media"]["animated"] is True


def test_location_and_contacts_ride_along() -> None:
    place = {"latitude": 38.7, "longitude": -9.1, "name": "Cais", "address": "Lisboa"}
    assert one(message("wamid.L", ALICE, "location", place))["location"] == place
    cards = [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+351 9", "type": "CELL"}]}]
    data = one(message("wamid.C", ALICE, "contacts", cards))
    assert data["message_type"] == "contacts" and data["contacts"] == cards


@pytest.mark.parametrize(("reply", "expected"), [
    ({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}, "Yes please"),
    ({"type": "list_reply", "list_reply": {"id": "r1", "title": "Red", "description": "d"}},
     "Red"),
    ({"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
                                         "response_json": "{\"a\": 1}"}}, "Sent"),
])
def test_interactive_replies(reply: dict, expected: str) -> None:
    data = one(message("wamid.I", ALICE, "interactive", reply,
                       context={"from": "15550001111", "id": "wamid.OUT"}))
    assert data["message_type"] == "interactive"
    assert data["interactive"] == reply
    assert data["text"] == expected
    assert data["reply_to_wamid"] == "wamid.OUT"


def test_interactive_without_its_body_is_tolerated() -> None:
    data = one(message("wamid.I0", ALICE, "interactive"))
    assert data["message_type"] == "interactive" and "interactive" not in data


def test_template_quick_reply_button() -> None:
    data = one(message("wamid.B", ALICE, "button", {"payload": "TICKET_42_YES", "text": "Yes"},
                       context={"from": "15550001111", "id": "wamid.TPL"}))
    assert data["button"] == {"payload": "TICKET_42_YES", "text": "Yes"}
    assert data["text"] == "Yes" and data["reply_to_wamid"] == "wamid.TPL"


@pytest.mark.parametrize(("payload", "emoji"), [
    ({"message_id": "wamid.OUT", "emoji": "\U0001f44d"}, "\U0001f44d"),
    ({"message_id": "wamid.OUT", "emoji": ""}, ""),
    ({"message_id": "wamid.OUT"}, ""),
])
def test_reaction_set_and_removed(payload: dict, emoji: str) -> None:
    data = one(message("wamid.R", ALICE, "reaction", payload))
    assert data["message_type"] == "reaction"
    assert data["reaction"] == {"message_id": "wamid.OUT", "emoji": emoji}


def test_order_system_unsupported_and_request_welcome() -> None:
    order = {"catalog_id": "C", "text": "for pickup",
             "product_items": [{"product_retailer_id": "P", "quantity": 2, "item_price": 9.5,
                                "currency": "EUR"}]}
    data = one(message("wamid.O", ALICE, "order", order))
    assert data["order"] == order and data["text"] == "for pickup"

    system = {"body": "Alice changed from 1 to 2", "type": "user_changed_number", "wa_id": "2"}
    # A change of number also links the new number to the conversation (issue #21).
    events = parse(envelope(messages_change([message("wamid.Y", ALICE, "system", system)],
                                            contacts=())))
    assert [e.type for e in events] == ["customer.linked", "message.received"]
    assert events[0].data == {"previous": ALICE, "wa_id": "2",
                              "source": "user_changed_number"}
    data = events[1].data
    assert data["system"] == system and "profile_name" not in data

    errors = [{"code": 131051, "title": "Message type unknown"}]
    data = one(message("wamid.U", ALICE, "unsupported", {"type": "poll_creation"},
                       errors=errors))
    assert data["message_type"] == "unsupported"
    assert data["unsupported"] == {"type": "poll_creation"} and data["errors"] == errors

    data = one(message("wamid.W", ALICE, "request_welcome"))
    assert data["message_type"] == "request_welcome"


def test_edit_and_revoke() -> None:
    new = {"type": "text", "text": {"body": "fixed typo"}}
    data = one(message("wamid.E", ALICE, "edit",
                       {"original_message_id": "wamid.ORIG", "message": new}))
    assert data["message_type"] == "edit"
    assert data["edit"] == {"original_message_id": "wamid.ORIG", "message": new}
    data = one(message("wamid.V", ALICE, "revoke", {"original_message_id": "wamid.ORIG"}))
    assert data["revoke"] == {"original_message_id": "wamid.ORIG"}


def test_a_type_we_do_not_know_is_kept_as_unknown() -> None:
    raw = message("wamid.P", ALICE, "poll", {"question": "Lunch?", "options": ["a", "b"]})
    data = one(raw)
    assert data["message_type"] == "unknown"
    assert data["unknown_type"] == "poll"
    assert data["raw"] == raw


def test_context_forwarded_flags_and_referral() -> None:
    referral = {"source_url": "https://fb.me/ad", "source_type": "ad", "ctwa_clid": "X"}
    data = one(text("wamid.F", ALICE, "hi", context={"forwarded": True,
                                                     "frequently_forwarded": True},
                    referral=referral))
    assert data["forwarded"] is True and data["frequently_forwarded"] is True
    assert "reply_to_wamid" not in data
    assert data["referral"] == referral
    reply = one(text("wamid.Q", ALICE, "yes", context={"from": "1555", "id": "wamid.PREV"}))
    assert reply["reply_to_wamid"] == "wamid.PREV"
    assert reply["context"] == {"from": "1555", "id": "wamid.PREV"}


@pytest.mark.parametrize("ts", [BASE_TS, str(BASE_TS)])
def test_timestamp_as_string_or_integer(ts: int | str) -> None:
    msg = text("wamid.TS", ALICE, "x")
    msg["timestamp"] = ts
    [event] = parse(envelope(messages_change([msg])))
    assert event.occurred_at == datetime.fromtimestamp(BASE_TS, UTC)


def test_missing_or_garbage_timestamp_falls_back_to_receipt_time() -> None:
    msg = text("wamid.TS2", ALICE, "x")
    msg["timestamp"] = "yesterday"
    [event] = parse(envelope(messages_change([msg])))
    assert event.occurred_at == NOW


def test_username_customer_keyed_by_business_scoped_id() -> None:
    msg = text("wamid.U1", None, "hi", from_user_id="US.1349")
    [event] = parse(envelope(messages_change(
        [msg], contacts=[contact(None, "Bea", user_id="US.1349")])))
    assert event.stream == "chat:US.1349"
    assert event.data["phone"] == "US.1349"
    assert event.data["user_id"] == "US.1349"
    assert event.data["profile_name"] == "Bea"


def test_empty_from_falls_back_to_user_id() -> None:
    msg = text("wamid.U2", "", "hi", from_user_id="US.77")
    [event] = parse(envelope(messages_change([msg])))
    assert event.data["phone"] == "US.77"


def test_contact_names_the_chat_but_does_not_choose_its_key() -> None:
    # Brazil: Meta's contacts[].wa_id can differ from the message's `from`.
    msg = text("wamid.BR", "5511999990002", "oi")
    [event] = parse(envelope(messages_change([msg], contacts=[contact("551199990002", "Caio")])))
    assert event.data["phone"] == "5511999990002"
    assert event.data["profile_name"] == "Caio"


def test_contacts_are_matched_to_their_senders_in_a_batch() -> None:
    events = parse(envelope(messages_change(
        [text("wamid.1", "111", "a"), text("wamid.2", "222", "b"),
         text("wamid.3", None, "c", from_user_id="US.3")],
        contacts=[contact("222", "Two"), contact("111", "One"),
                  contact(None, "Three", user_id="US.3")])))
    assert [(e.data["phone"], e.data["profile_name"]) for e in events] == [
        ("111", "One"), ("222", "Two"), ("US.3", "Three")]


def test_statuses() -> None:
    failure = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement",
               "error_data": {"details": "More than 24 hours"}, "href": "https://x"}
    events = parse(envelope(messages_change(statuses=[
        status("wamid.O1", ALICE, "sent", biz_opaque_callback_data="ticket-42"),
        status("wamid.O1", ALICE, "delivered"),
        status("wamid.O1", ALICE, "read"),
        status("wamid.O2", ALICE, "played"),
        status("wamid.O3", ALICE, "failed", errors=[failure]),
        {"id": "wamid.O4", "status": "delivered", "timestamp": str(BASE_TS),
         "recipient_user_id": "US.9"},
    ])))
    assert [e.type for e in events] == ["message.status"] * 6
    assert [e.idempotency_key for e in events] == [
        "wa:wamid.O1:sent", "wa:wamid.O1:delivered", "wa:wamid.O1:read", "wa:wamid.O2:played",
        "wa:wamid.O3:failed", "wa:wamid.O4:delivered"]
    assert events[0].data["biz_opaque_callback_data"] == "ticket-42"
    assert events[4].data["error"] == {"code": 131047, "title": "Re-engagement message",
                                       "message": "Re-engagement",
                                       "details": "More than 24 hours", "href": "https://x"}
    assert events[5].stream == "chat:US.9" and events[5].data["phone"] == "US.9"
    assert all(e.data["raw"]["id"] == e.data["wamid"] for e in events)


def test_every_entry_change_message_and_status_is_walked() -> None:
    payload = {"object": "whatsapp_business_account", "entry": [
        {"id": "W1", "changes": [
            messages_change([text("wamid.a", "1", "a"), text("wamid.b", "2", "b")],
                            statuses=[status("wamid.o", "1", "sent")]),
            messages_change([text("wamid.c", "3", "c")]),
        ]},
        {"id": "W2", "changes": [
            messages_change([text("wamid.d", "4", "d")], statuses=[status("wamid.p", "4", "read")]),
            {"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION"}},
        ]},
    ]}
    keys = [e.idempotency_key for e in parse(payload)]
    assert keys[:6] == ["wa:wamid.a", "wa:wamid.b", "wa:wamid.o:sent", "wa:wamid.c",
                        "wa:wamid.d", "wa:wamid.p:read"]
    assert keys[6].startswith("wa:change:") and len(keys) == 7


def test_other_fields_and_account_errors_are_recorded() -> None:
    template = {"event": "APPROVED", "message_template_id": 12, "message_template_name": "hi",
                "message_template_language": "en_US", "reason": "NONE"}
    payload = envelope({"field": "message_template_status_update", "value": template})
    payload["entry"][0]["time"] = BASE_TS
    [change] = parse(payload)
    assert change.type == "webhook.change" and change.stream == "webhook"
    assert change.data["field"] == "message_template_status_update"
    assert change.data["value"] == template
    assert change.occurred_at == datetime.fromtimestamp(BASE_TS, UTC)
    assert parse(payload)[0].idempotency_key == change.idempotency_key  # a retry is the same

    err = {"code": 131000, "title": "Something went wrong", "message": "Something went wrong",
           "error_data": {"details": "Unsupported webhook payload"}}
    events = parse(envelope(messages_change([message("wamid.X", ALICE, "interactive")],
                                            errors=[err])))
    assert [e.type for e in events] == ["message.received", "webhook.error"]
    assert events[1].data["error"] == {"code": 131000, "title": "Something went wrong",
                                       "message": "Something went wrong",
                                       "details": "Unsupported webhook payload"}
    assert events[1].idempotency_key.startswith("wa:error:")


def test_a_messages_change_with_nothing_we_know_is_still_recorded() -> None:
    [event] = parse(envelope({"field": "messages", "value": {"contacts": [], "novel": 1}}))
    assert event.type == "webhook.change" and event.data["value"] == {"contacts": [], "novel": 1}


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"\xff\xfe\xfa", "not valid JSON"),
    (b"[1, 2]", "entry"),
    (b'{"object": "whatsapp_business_account"}', "entry"),
    (b'{"entry": [{"changes": [], "x": NaN}]}', "not valid JSON"),
    (b'{"entry": [], "text": "\\ud800"}', "surrogate"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
])
def test_bodies_we_cannot_read_are_kept_byte_for_byte(body: bytes, reason: str) -> None:
    [event] = parse_webhook(body, NOW)
    assert event.type == "webhook.unparsed" and event.stream == "webhook"
    assert base64.b64decode(event.data["body_b64"]) == body
    assert reason in event.data["reason"]
    assert event.idempotency_key.startswith("wa:unparsed:")
    assert event.occurred_at == NOW


def test_unreadable_parts_keep_the_body_and_the_rest_is_still_recorded() -> None:
    payload = envelope(messages_change(
        [text("wamid.ok", ALICE, "fine"), {"from": ALICE, "type": "text"},
         text("wamid.nobody", None, "who?")],
        statuses=[status("wamid.s", ALICE, "sent"), "garbage"]))
    body = body_of(payload)
    events = parse_webhook(body, NOW)
    assert [e.type for e in events] == ["message.received", "message.status",
                                        "webhook.unparsed"]
    unparsed = events[-1]
    assert base64.b64decode(unparsed.data["body_b64"]) == body
    assert "without an id" in unparsed.data["reason"]
    assert "neither from nor from_user_id" in unparsed.data["reason"]
    assert "not an object" in unparsed.data["reason"]


def test_an_empty_batch_gives_no_events() -> None:
    assert parse({"object": "whatsapp_business_account", "entry": []}) == []


def test_same_body_same_keys() -> None:
    payload = envelope(messages_change([text("wamid.k", ALICE, "x")],
                                       statuses=[status("wamid.j", ALICE, "read")]),
                       {"field": "user_preferences", "value": {"user_preferences": []}})
    first = [e.idempotency_key for e in parse(payload)]
    assert first == [e.idempotency_key for e in parse(payload)]
    assert len(set(first)) == 3


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["entry", "changes", "field", "value", "messages", "statuses",
                         "errors", "id", "from", "type", "text", "timestamp", "status",
                         "recipient_id", "contacts", "wa_id", "reaction", "edit"]),
        inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_never_raises_and_every_event_is_keyed_and_storable(value: object) -> None:
    payload = {"entry": [{"changes": [{"field": "messages", "value": value}]}]} \
        if isinstance(value, dict) else value
    for event in parse_webhook(json.dumps(payload).encode(), NOW):
        assert event.idempotency_key
        assert event.actor == "meta"
        canonical_json(event.data).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(body: bytes) -> None:
    for event in parse_webhook(body, NOW):
        assert event.idempotency_key
