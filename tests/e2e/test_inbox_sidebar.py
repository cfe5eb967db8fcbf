"""The chat list pages in as the agent scrolls, searches, and fits a phone screen."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from crm.sandbox import PHONE_NUMBER_ID
from tests import meta_payloads as meta
from tests.auth_support import create_agent
from tests.conftest import LiveServer, admin_headers
from tests.e2e.inbox import SECRET, bubble, chat_row, customer_writes, text, wamid

MANY = 130


def _many_customers(live: LiveServer) -> None:
    """One webhook POST carrying a message from each of MANY customers."""
    now = int(time.time())
    messages = [meta.text(wamid(), f"3519{i:08d}", f"hello from customer {i}", ts=now - 500 + i)
                for i in range(MANY)]
    contacts = [meta.contact(f"3519{i:08d}", f"Customer {i:03d}") for i in range(MANY)]
    body = meta.body_of(meta.envelope(meta.messages_change(
        messages=messages, contacts=contacts, phone_number_id=PHONE_NUMBER_ID)))
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
    for typed in ("+351 9000 0004", "00351 (900) 000-04"):  # typed as people write numbers
        search.fill(typed)
        expect(rows).to_have_count(10)
    search.fill("nobody at all")
    expect(page.locator("#chat-status")).to_have_text("No chats match “nobody at all”.")
    search.fill("")
    expect(rows).to_have_count(50)


def _ago_yesterday_noon() -> float:
    now = datetime.now(UTC)
    noon = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), UTC)
    return (now - noon.replace(hour=12)).total_seconds()


def test_keyboard_moves_through_chats_and_opens_one(agent_page, live: LiveServer) -> None:
    customer_writes(live, "4477000000030", "Old Timer",
                    text("4477000000030", "from yesterday", ago=_ago_yesterday_noon()))
    customer_writes(live, "4477000000031", "Keys One", text("4477000000031", "k1", ago=2))
    customer_writes(live, "4477000000032", "Keys Two", text("4477000000032", "k2", ago=1))
    page = agent_page(timezone_id="UTC")
    expect(chat_row(page, "4477000000032")).to_be_visible()
    # One name for a day: the list says what the thread says.
    expect(chat_row(page, "4477000000030").locator("time")).to_have_text("Yesterday")
    page.evaluate("location.hash = '#/chat/4477000000030'")
    day = bubble(page, "from yesterday").locator(".day")
    expect(day).to_have_text("Yesterday")
    page.evaluate("location.hash = ''")
    # hashchange fires after evaluate returns: a key pressed before the thread has closed
    # would go to its composer (where focus was).
    expect(page.locator("#thread-view")).to_be_hidden()
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
    # ArrowDown from the search box goes into the list.
    page.get_by_label("Search chats by name, number or message text").focus()
    page.keyboard.press("ArrowDown")
    expect(chat_row(page, "4477000000032").get_by_role("link")).to_be_focused()


def _console_404s(page) -> list[str]:
    return [m for m in page.console_messages if "404" in m]


def test_on_a_phone_the_thread_replaces_the_list(agent_page, live: LiveServer) -> None:
    customer_writes(live, "5511900000041", "Phone Person", text("5511900000041", "tiny screen"))
    create_agent(live, admin_headers(live), "bernadette.santos", "bernadette-password-1")
    page = agent_page("bernadette.santos", "bernadette-password-1",
                      viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    row = chat_row(page, "5511900000041")
    expect(row).to_be_visible()
    expect(page.locator("#thread")).to_be_hidden()
    row.get_by_role("link").tap()
    expect(bubble(page, "tiny screen")).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    # A short reply keeps its footer whole: the agent's name and the time on one line.
    box = page.get_by_label("Message", exact=True)
    box.fill("ok")
    box.press("Enter")
    mine = bubble(page, "ok").filter(has=page.locator(".agent"))
    footer = mine.locator(".meta")
    expect(footer.locator(".agent")).to_have_text("bernadette.santos")
    expect(footer.locator(".status")).to_have_attribute("data-status", "read", timeout=10000)
    fits = footer.evaluate("""(meta) => {
        const agent = meta.querySelector('.agent'), time = meta.querySelector('time');
        const line = parseFloat(getComputedStyle(time).lineHeight);
        return {agent: agent.scrollWidth <= agent.clientWidth,
                time: time.getBoundingClientRect().height < 1.5 * line};
    }""")
    assert fits == {"agent": True, "time": True}
    # No hover on a touch screen: the reply button is there to tap.
    asked = bubble(page, "tiny screen")
    reply = asked.get_by_role("button", name="Reply to this message")
    expect(reply).to_have_css("opacity", "1")
    reply.tap()
    expect(page.locator("#reply-text")).to_have_text("tiny screen")
    # The offline banner does not push "Sign out" onto two lines.
    sign_out = page.get_by_role("button", name="Sign out")
    one_line = sign_out.bounding_box()["height"]
    page.evaluate("document.querySelector('#connection').hidden = false")
    expect(page.locator("#connection")).to_be_visible()
    assert sign_out.bounding_box()["height"] == one_line
    header = page.locator("header").bounding_box()
    assert header["height"] < 2.2 * one_line
    assert _console_404s(page) == []  # not on the customer list is not an error
    page.get_by_role("button", name="Back to chats").tap()
    expect(row).to_be_visible()
    expect(page.locator("#thread")).to_be_hidden()
