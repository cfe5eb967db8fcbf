"""Two agents in two browsers: presence ("is viewing", "is typing", the row's avatar,
gone when the tab closes) and a mention changing the other's title count."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer, admin_headers
from tests.e2e.inbox import bubble, chat_row, customer_writes, text

PHONE = "85290000501"


def test_presence_and_a_mention_between_two_agents(agent_page, live: LiveServer) -> None:
    made = httpx.post(live.url + "/api/agents", headers=admin_headers(live), timeout=10,
                      json={"name": "bob", "password": "a-long-password-1", "admin": False})
    assert made.status_code == 201, made.text
    customer_writes(live, PHONE, "Rita Lopes", text(PHONE, "Can I book two kayaks?"))
    ana = agent_page()  # the admin
    bob = agent_page("bob", "a-long-password-1")
    for page in (ana, bob):
        page.goto(f"/#/chat/{PHONE}")
        expect(bubble(page, "Can I book two kayaks?")).to_be_visible()

    expect(bob.locator("#presence")).to_have_text("admin is viewing")
    expect(ana.locator("#presence")).to_have_text("bob is viewing")
    expect(bob.locator(f'#chat-list li[data-phone="{PHONE}"] .presence-avatars')).to_have_attribute(
        "data-who", "admin")

    ana.locator("#text").press_sequentially("We have", delay=20)
    typed = time.monotonic()
    expect(bob.locator("#presence")).to_have_text("admin is typing…", timeout=1000)
    assert time.monotonic() - typed < 1.0

    # Bob leaves the chat; a note mentioning him counts in his title, live.
    bob.goto("/#")
    expect(bob.locator("#presence")).to_be_hidden()
    expect(ana.locator("#presence")).to_be_hidden()  # bob left
    expect(bob).to_have_title("Inbox · crm")
    note = httpx.post(f"{live.url}/api/chats/{PHONE}/notes", headers=admin_headers(live),
                      json={"text": "@bob can you take this one?"}, timeout=10)
    assert note.status_code in (200, 201), note.text
    expect(bob).to_have_title("(1) Inbox · crm")
    expect(bob.locator("#notify-count")).to_have_text("1 new")
    assert bob.evaluate("document.querySelector('link[rel=icon]').dataset.count") == "1"
    chat_row(bob, PHONE).get_by_role("link").click()  # opening the chat reads it
    expect(bob).to_have_title("Inbox · crm")
    expect(bob.locator("#presence")).to_have_text("admin is viewing")

    # The admin's tab closes: bob sees them go (the page says "left" as it goes).
    ana.close()
    expect(bob.locator("#presence")).to_be_hidden(timeout=3000)
    expect(bob.locator(f'#chat-list li[data-phone="{PHONE}"] .presence-avatars')).to_have_count(0)
    assert bob.errors == []
