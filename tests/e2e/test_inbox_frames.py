"""The page applies the rows stream frames carry: new messages, a reply and its ticks,
and the sidebar's preview all change without a request to the read API."""

from __future__ import annotations

from playwright.sync_api import Request, expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, text


def test_live_changes_need_no_request(agent_page, live: LiveServer) -> None:
    phone = "85296000321"
    other = "85296000322"
    customer_writes(live, phone, "Lena Chow", text(phone, "Hello, are you open?"))
    customer_writes(live, other, "Omar", text(other, "Hi"))
    page = agent_page()
    chat_row(page, phone).get_by_role("link").click()
    expect(bubble(page, "Hello, are you open?")).to_be_visible()

    reads: list[str] = []

    def watch(request: Request) -> None:
        path = request.url.split("?", 1)[0]
        if request.method == "GET" and ("/api/messages" in path or "/api/chats/" in path
                                        and not path.endswith("/counts")):
            reads.append(request.url)

    page.on("request", watch)
    customer_writes(live, phone, "Lena Chow", text(phone, "Two kayaks for Saturday?"))
    expect(bubble(page, "Two kayaks for Saturday?")).to_be_visible()
    customer_writes(live, other, "Omar", text(other, "Still there?"))
    expect(chat_row(page, other).locator(".chat-preview")).to_contain_text("Still there?")

    composer = page.get_by_label("Message", exact=True)
    composer.fill("Yes, both are free")
    composer.press("Enter")
    reply = page.locator('#messages li[data-direction="out"]').filter(has_text="Yes, both are free")
    # The sandbox answers, then posts sent, delivered and read: every tick comes by frame.
    expect(reply.locator('[data-status="read"]')).to_be_visible(timeout=10000)
    expect(chat_row(page, phone).locator('[data-status="read"]')).to_be_visible()
    assert reads == [], reads
    assert page.errors == []
