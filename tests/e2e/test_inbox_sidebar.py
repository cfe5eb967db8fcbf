"""The chat list pages in as the agent scrolls, searches, and fits a phone screen."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect

from tests import meta_payloads as meta
from tests.conftest import LiveServer
from tests.e2e.inbox import SECRET, bubble, chat_row, customer_writes, text, wamid

MANY = 130


def _many_customers(live: LiveServer) -> None:
    """One webhook POST carrying a message from each of MANY customers."""
    now = int(time.time())
    messages = [meta.text(wamid(), f"3519{i:08d}", f"hello from customer {i}", ts=now - 500 + i)
                for i in range(MANY)]
    contacts = [meta.contact(f"3519{i:08d}", f"Customer {i:03d}") for i in range(MANY)]
    body = meta.body_of(meta.envelope(meta.messages_change(messages=messages,
                                                           contacts=contacts)))
    with httpx.Client(base_url=live.url, timeout=10) as http:
        assert meta.post(http, body, secret=SECRET).status_code == 200


def test_the_list_pages_in_on_scroll_and_search_filters(agent_page, live: LiveServer) -> None:
    _many_customers(live)
    page = agent_page(viewport={"width": 1200, "height": 700})
    rows = page.locator("#chat-list li")
    expect(rows.first).to_have_attribute("data-phone", f"3519{MANY - 1:08d}")
    # One page at first, not every chat at once.
    assert rows.count() == 50

    for shown in (100, MANY):
        page.locator("#chat-list li").last.scroll_into_view_if_needed()
        expect(rows).to_have_count(shown)
    phones = rows.evaluate_all("els => els.map(e => e.dataset.phone)")
    assert phones == [f"3519{i:08d}" for i in reversed(range(MANY))]

    search = page.get_by_label("Search chats by name, number or message text")
    search.fill("Customer 007")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".chat-name")).to_have_text("Customer 007")
    search.fill("hello from customer 12")  # message text: 12 and 120..129
    expect(rows).to_have_count(11)
    search.fill("35190000004")  # number: 40..49
    expect(rows).to_have_count(10)
    search.fill("nobody at all")
    expect(page.locator("#chat-status")).to_have_text("No chats match “nobody at all”.")
    search.fill("")
    expect(rows).to_have_count(50)


def test_keyboard_moves_through_chats_and_opens_one(agent_page, live: LiveServer) -> None:
    customer_writes(live, "4477000000031", "Keys One", text("4477000000031", "k1", ago=2))
    customer_writes(live, "4477000000032", "Keys Two", text("4477000000032", "k2", ago=1))
    page = agent_page()
    expect(chat_row(page, "4477000000032")).to_be_visible()
    page.keyboard.press("/")
    expect(page.get_by_label("Search chats by name, number or message text")).to_be_focused()
    page.keyboard.type("Keys")
    expect(page.locator("#chat-list li")).to_have_count(2)
    page.keyboard.press("Tab")
    expect(chat_row(page, "4477000000032").get_by_role("link")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(chat_row(page, "4477000000031").get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(bubble(page, "k1")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()


def test_on_a_phone_the_thread_replaces_the_list(agent_page, live: LiveServer) -> None:
    customer_writes(live, "5511900000041", "Phone Person", text("5511900000041", "tiny screen"))
    page = agent_page(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    row = chat_row(page, "5511900000041")
    expect(row).to_be_visible()
    expect(page.locator("#thread")).to_be_hidden()
    row.get_by_role("link").tap()
    expect(bubble(page, "tiny screen")).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    page.get_by_role("button", name="Back to chats").tap()
    expect(row).to_be_visible()
    expect(page.locator("#thread")).to_be_hidden()
