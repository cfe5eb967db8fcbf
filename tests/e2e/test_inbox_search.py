"""Searching messages from the sidebar: a word in an old chat, deep in its thread, is
found, and opening the result shows the thread at that message, marked, with older and
newer messages loading around it."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from crm.sandbox import PHONE_NUMBER_ID
from tests import meta_payloads as meta
from tests.conftest import LiveServer
from tests.e2e.inbox import SECRET, bubble, wamid

OLD = "85298880000"
THREAD = 120  # messages in the old chat
KAYAK_AT = 40  # the kayak message: neither in the newest page nor at the start
NEWER_CHATS = 55  # so the old chat is not among the first page of chats


def _post(live: LiveServer, messages: list, contacts: list) -> None:
    body = meta.body_of(meta.envelope(meta.messages_change(
        messages=messages, contacts=contacts, phone_number_id=PHONE_NUMBER_ID)))
    with httpx.Client(base_url=live.url, timeout=10) as http:
        assert meta.post(http, body, secret=SECRET).status_code == 200


def _seed(live: LiveServer) -> None:
    now = int(time.time())
    old = [meta.text(wamid(), OLD, "Do you have a double kayak on Saturday?" if i == KAYAK_AT
                     else f"old message {i}", ts=now - 90_000 + i * 60) for i in range(THREAD)]
    _post(live, old, [meta.contact(OLD, "Mrs Chan")])
    _post(live, [meta.text(wamid(), f"3518{i:08d}", f"news {i}", ts=now - 600 + i)
                 for i in range(NEWER_CHATS)],
          [meta.contact(f"3518{i:08d}", f"Newer {i}") for i in range(NEWER_CHATS)])


def test_search_finds_an_old_message_and_opens_the_thread_at_it(agent_page,
                                                                 live: LiveServer) -> None:
    _seed(live)
    page = agent_page(viewport={"width": 1200, "height": 700})
    rows = page.locator("#chat-list li")
    expect(rows).to_have_count(50)
    assert rows.evaluate_all("els => els.map(e => e.dataset.phone)").count(OLD) == 0

    page.get_by_label("Search chats by name, number or message text").fill("kayak")
    results = page.locator("#search-results")
    expect(results).to_be_visible()
    group = results.locator(f'li.search-group[data-phone="{OLD}"]')
    expect(group).to_have_count(1)
    expect(group.locator("p").first).to_have_text("Mrs Chan")
    hit = group.locator("a.search-hit")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_text("kayak")
    # Customer text as text: the snippet is text nodes and one <mark>, nothing else.
    assert hit.locator(".search-snippet *").count() == 1

    hit.click()
    expect(page.locator("#thread-name")).to_have_text("Mrs Chan")
    found = bubble(page, "Do you have a double kayak on Saturday?")
    expect(found).to_have_attribute("data-search-hit", "true")
    expect(found).to_be_in_viewport()
    expect(found.locator(".bubble")).to_have_class(re.compile("ring-amber-400"))
    # Around it only: the newest messages are not loaded yet, nor all the older ones.
    expect(bubble(page, f"old message {THREAD - 1}")).to_have_count(0)
    assert page.locator("#messages li.msg").count() < THREAD

    # Newer pages load as the agent scrolls down, older ones as they scroll up.
    for edge, last in (("el.scrollHeight", THREAD - 1), ("0", 0)):
        page.wait_for_function(
            """([edge, wanted]) => {
                 const el = document.querySelector("#messages-scroll");
                 el.scrollTop = edge === "0" ? 0 : el.scrollHeight;
                 return [...document.querySelectorAll("#messages li.msg")]
                   .some((li) => li.textContent.includes(wanted));
               }""", arg=[edge, f"old message {last}"], polling=100, timeout=10_000)
    expect(page.locator("#messages li.msg")).to_have_count(THREAD)
    assert page.errors == []
