"""The inbox live: a customer's message appears without a reload, opening it reads it."""

from __future__ import annotations

import subprocess
import sys
import time

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, text


def test_a_new_customer_appears_within_a_second_and_opening_reads_it(agent_page,
                                                                     live: LiveServer) -> None:
    page = agent_page()
    expect(page.locator("#chat-status")).not_to_have_text("Loading chats…")
    row = chat_row(page, "85290000001")
    expect(row).to_have_count(0)

    customer_writes(live, "85290000001", "Ana Lima",
                    text("85290000001", "Hi, is the kayak free on Saturday?"))
    answered = time.monotonic()
    expect(row).to_be_visible(timeout=1000)
    assert time.monotonic() - answered < 1.0
    expect(row.locator(".chat-name")).to_have_text("Ana Lima")
    expect(row.locator(".chat-preview")).to_contain_text("Hi, is the kayak free on Saturday?")
    expect(row.locator(".unread")).to_have_text("1")
    expect(page.locator("#chat-list li").first).to_have_attribute("data-phone", "85290000001")

    row.get_by_role("link").click()
    expect(page.locator("#thread-name")).to_have_text("Ana Lima")
    expect(bubble(page, "Hi, is the kayak free on Saturday?")).to_be_visible()
    expect(row.locator(".unread")).to_have_count(0)
    page.reload()  # the read was recorded for everyone, not just drawn
    expect(chat_row(page, "85290000001")).to_be_visible()
    expect(chat_row(page, "85290000001").locator(".unread")).to_have_count(0)
    assert page.errors == []


def test_a_message_in_another_chat_moves_it_to_the_top_and_counts_in_the_title(
        agent_page, live: LiveServer) -> None:
    customer_writes(live, "85290000011", "Older", text("85290000011", "first", ago=60))
    customer_writes(live, "85290000012", "Newer", text("85290000012", "second", ago=30))
    page = agent_page()
    first = page.locator("#chat-list li").first
    expect(first).to_have_attribute("data-phone", "85290000012")
    page.goto("/#/chat/85290000012")
    expect(bubble(page, "second")).to_be_visible()

    # The tab goes to the background; the other customer writes again.
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    customer_writes(live, "85290000011", "Older", text("85290000011", "are you there?"))
    expect(first).to_have_attribute("data-phone", "85290000011")
    expect(chat_row(page, "85290000011").locator(".unread")).to_have_text("2")
    expect(page).to_have_title("(1) Inbox · crm")
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    expect(page).to_have_title("Inbox · crm")
    # The open thread did not change: the message went to its own chat.
    expect(bubble(page, "are you there?")).to_have_count(0)


def test_the_open_chat_shows_new_messages_live(agent_page, live: LiveServer) -> None:
    customer_writes(live, "85290000021", "Live", text("85290000021", "one", ago=5))
    page = agent_page()
    page.goto("/#/chat/85290000021")
    expect(bubble(page, "one")).to_be_visible()
    customer_writes(live, "85290000021", "Live", text("85290000021", "two"))
    expect(bubble(page, "two")).to_be_visible(timeout=1000)
    expect(page.locator("#messages li.msg").last).to_contain_text("two")
    # Open and visible: read at once, for everyone.
    expect(chat_row(page, "85290000021").locator(".unread")).to_have_count(0)


def test_the_customer_list_names_the_chat_live_and_shows_its_details(
        agent_page, live: LiveServer, tmp_path) -> None:
    phone = "85290000031"
    customer_writes(live, phone, "ana 🌸", text(phone, "hi from the profile name"))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(page.locator("#thread-name")).to_have_text("ana 🌸")
    expect(page.get_by_role("button", name="Customer details")).to_be_hidden()

    sheet = tmp_path / "customers.csv"
    sheet.write_text("Phone,Name,City,Tier\n+85290000031,Ana Lima,Lisbon,<b>gold</b>\n")
    imported = subprocess.run([sys.executable, "-m", "crm.cli", "customers", "import", str(sheet)],
                              env=live.env, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    expect(chat_row(page, phone).locator(".chat-name")).to_have_text("Ana Lima")
    expect(page.locator("#thread-name")).to_have_text("Ana Lima")
    details = page.get_by_role("button", name="Customer details")
    details.click()
    expect(details).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("region", name="Customer details")
    expect(panel).to_contain_text("Lisbon")
    expect(panel.locator("dd").last).to_have_text("<b>gold</b>")
