"""The thread: every kind of message has its place, and older pages load on scroll up."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, customer_writes, message, text
from tests.e2e.test_inbox_send import png
from tests.sandbox_support import GraphSandbox


def test_every_kind_of_message_is_shown_for_what_it_is(agent_page, live: LiveServer,
                                                       sandbox: GraphSandbox, tmp_path) -> None:
    phone = "5511987650001"
    photo = png(tmp_path / "photo.png").read_bytes()
    media_id = sandbox.state.store_media(photo, "image/png", None)
    original = text(phone, "Do you rent paddles?", ago=60)
    customer_writes(
        live, phone, "Carla",
        original,
        message(phone, "image", {"id": media_id, "mime_type": "image/png",
                                 "caption": "this one"}, ago=55),
        message(phone, "document", {"id": "gone-forever", "mime_type": "application/pdf",
                                    "filename": "booking.pdf"}, ago=50),
        message(phone, "location", {"latitude": -23.5614, "longitude": -46.6559,
                                    "name": "Av. Paulista", "address": "São Paulo"}, ago=45),
        message(phone, "contacts", [{"name": {"formatted_name": "Rui Lopes"},
                                     "phones": [{"phone": "+351 912 345 678",
                                                 "type": "CELL"}]}], ago=40),
        message(phone, "interactive", {"type": "button_reply",
                                       "button_reply": {"id": "b1", "title": "Yes, book it"}},
                ago=35),
        text(phone, "and two life vests", ago=30, context={"id": original["id"]}),
        text(phone, "look at this deal", ago=28, context={"forwarded": True}),
        message(phone, "sticker_v2", {"anything": True}, ago=25),
    )
    typo = text(phone, "see you at 9", ago=20)
    oops = text(phone, "wrong chat, sorry", ago=18)
    customer_writes(live, phone, "Carla", typo, oops)
    customer_writes(
        live, phone, "Carla",
        message(phone, "reaction", {"message_id": original["id"], "emoji": "👍"}, ago=15),
        message(phone, "edit", {"original_message_id": typo["id"],
                                "message": {"type": "text", "text": {"body": "see you at 10"}}},
                ago=10),
        message(phone, "revoke", {"original_message_id": oops["id"]}, ago=5),
    )
    page = agent_page()
    page.goto(f"/#/chat/{phone}")

    image = bubble(page, "this one").locator("img")
    expect(image).to_have_attribute("src", f"/media/{hashlib.sha256(photo).hexdigest()}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#messages img')].some(i => i.naturalWidth === 160)")
    document = bubble(page, "booking.pdf")
    expect(document.locator(".doc-name")).to_have_text("booking.pdf")
    expect(document.locator(".media-missing")).to_be_visible()
    place = page.get_by_role("link", name="Av. Paulista")
    expect(place).to_have_attribute("href", "https://www.openstreetmap.org/?mlat=-23.5614&mlon="
                                            "-46.6559#map=17/-23.5614/-46.6559")
    card = page.locator(".contact-card")
    expect(card).to_contain_text("Rui Lopes")
    expect(card).to_contain_text("CELL: +351 912 345 678")
    expect(bubble(page, "Yes, book it")).to_contain_text("Tapped a reply button")
    quoted = bubble(page, "and two life vests").locator(".quote")
    expect(quoted).to_contain_text("Do you rent paddles?")
    expect(bubble(page, "look at this deal")).to_contain_text("Forwarded")
    expect(page.locator(".unsupported")).to_contain_text("Unsupported message (sticker_v2)")
    asked = page.locator("#messages li.msg[data-direction='in']").filter(
        has_text="Do you rent paddles?").filter(has_not_text="life vests")
    expect(asked.locator(".reactions")).to_have_text("👍")
    edited = bubble(page, "see you at 10")
    expect(edited.locator(".edited")).to_contain_text("Edited")
    edited.locator(".edited summary").click()
    expect(edited.locator(".edited")).to_contain_text("see you at 9")
    revoked = bubble(page, "wrong chat, sorry")
    expect(revoked).to_contain_text("The customer deleted this message.")
    # Reactions, edits and revokes annotate; they are not bubbles of their own.
    expect(page.locator("#messages li.msg")).to_have_count(11)
    assert page.errors == []


def test_older_messages_load_as_the_agent_scrolls_up(agent_page, live: LiveServer) -> None:
    phone = "5511987650002"
    messages = [text(phone, f"message number {i:03d}", ago=3000 - i * 10) for i in range(120)]
    customer_writes(live, phone, "Chatty", *messages)
    page = agent_page(viewport={"width": 1200, "height": 700})
    page.goto(f"/#/chat/{phone}")
    shown = page.locator("#messages li.msg")
    expect(shown.last).to_contain_text("message number 119")
    assert shown.count() == 50
    for count in (100, 120):
        page.locator("#messages li.msg").first.scroll_into_view_if_needed()
        expect(shown).to_have_count(count)
    expect(page.locator("#messages-status")).to_have_text("Start of the conversation")
    texts = shown.locator(".bubble-text").all_inner_texts()
    assert texts == [f"message number {i:03d}" for i in range(120)]
