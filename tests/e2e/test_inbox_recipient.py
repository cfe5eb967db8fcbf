"""A reply reaches exactly the chat the header shows: whatever the route, and however
fast the agent switches chats while a send is still on its way."""

from __future__ import annotations

import time

from playwright.sync_api import Page, Route, expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, text
from tests.sandbox_support import GraphSandbox

BEN, CAT, NOBODY = "85261110001", "85261110002", "85261119999"


def sent_to(sandbox: GraphSandbox, phone: str) -> list[str]:
    with sandbox.state.lock:
        return [(m["payload"].get("text") or {}).get("body") or m["payload"]["type"]
                for m in sandbox.state.messages if m["to"] == phone]


def wait_held(page: Page, held: list[Route], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(held) < count:
        assert time.monotonic() < deadline, f"{count} sends to be held, got {len(held)}"
        page.wait_for_timeout(20)  # lets Playwright dispatch the route handler


def test_the_composer_sends_only_to_the_chat_the_header_shows(
        agent_page, live: LiveServer, sandbox: GraphSandbox) -> None:
    customer_writes(live, BEN, "Ben Wong", text(BEN, "Ben here", ago=2))
    customer_writes(live, CAT, "Cat Lee", text(CAT, "Cat here", ago=1))
    page = agent_page()
    page.goto(f"/#/chat/{BEN}")
    expect(bubble(page, "Ben here")).to_be_visible()
    expect(page.locator("#thread-avatar")).to_have_text("BW")
    box = page.get_by_label("Message", exact=True)
    box.fill("draft that must not go anywhere")

    # A route naming a number with no chat: the header, avatar and subline are that
    # number's, free text is gone, and a template can start the conversation.
    page.evaluate(f"location.hash = '#/chat/{NOBODY}'")
    expect(page.locator("#thread-phone")).to_have_text(f"+{NOBODY}")
    expect(page.locator("#thread-name")).to_have_text(f"+{NOBODY}")
    expect(page.locator("#thread-avatar")).not_to_have_text("BW")
    expect(page.locator("#thread-window")).to_have_text("No conversation with this number yet")
    expect(box).to_be_hidden()
    expect(box).to_be_disabled()
    expect(page.locator("#composer")).to_have_attribute("data-phone", NOBODY)
    expect(page.locator("#window-closed-note")).to_contain_text(
        f"New conversation with +{NOBODY}")
    expect(bubble(page, "Ben here")).to_have_count(0)
    page.keyboard.press("Enter")
    picker = page.get_by_label("Template")
    picker.select_option(label="order_update (en_US) · utility")
    page.get_by_label("Body {{1}}").fill("Dee")
    page.get_by_label("Body {{2}}").fill("#9")
    page.get_by_role("button", name="Send template").click()
    started = page.locator("#messages li.msg[data-type='template']")
    expect(started.locator(".template-body")).to_have_text("Hi Dee, your order #9 is on its way.")
    expect(chat_row(page, NOBODY)).to_be_visible()
    expect(page.locator("#thread-window")).to_contain_text("window closed")
    deadline = time.monotonic() + 10
    while not sent_to(sandbox, NOBODY):
        assert time.monotonic() < deadline, "the template to reach Meta"
        page.wait_for_timeout(50)
    assert sent_to(sandbox, NOBODY) == ["template"]
    assert sent_to(sandbox, BEN) == []

    # A route that names no possible chat: nothing to send to at all.
    page.evaluate("location.hash = '#/chat/not-a-chat'")
    expect(page.locator("#thread-name")).to_have_text("not-a-chat")
    expect(page.locator("#composer")).to_be_hidden()

    # Two sends on their way at once, the agent switching chats in between: each
    # reaches its own chat, and neither clears or fills the other's box.
    held: list[Route] = []
    page.route("**/api/send", lambda route: held.append(route))
    chat_row(page, BEN).get_by_role("link").click()
    expect(page.locator("#thread-avatar")).to_have_text("BW")
    expect(box).to_have_value("draft that must not go anywhere")
    box.fill("for Ben only")
    box.press("Enter")
    wait_held(page, held, 1)
    chat_row(page, CAT).get_by_role("link").click()
    expect(page.locator("#thread-avatar")).to_have_text("CL")
    expect(box).to_have_value("")
    box.fill("for Cat only")
    box.press("Enter")
    wait_held(page, held, 2)
    box.fill("Cat's next draft")
    held[0].continue_()  # Ben's answer comes back while Cat's chat is open
    expect(bubble(page, "for Ben only")).to_have_count(0)
    expect(box).to_have_value("Cat's next draft")
    held[1].continue_()
    expect(bubble(page, "for Cat only")).to_be_visible()
    page.unroute("**/api/send")
    chat_row(page, BEN).get_by_role("link").click()
    expect(bubble(page, "for Ben only")).to_be_visible()
    expect(box).to_have_value("")  # sent: the draft is gone
    expect(bubble(page, "for Cat only")).to_have_count(0)
    deadline = time.monotonic() + 10
    while len(sent_to(sandbox, BEN)) < 1 or len(sent_to(sandbox, CAT)) < 1:
        assert time.monotonic() < deadline, "both replies to reach Meta"
        page.wait_for_timeout(50)
    assert sent_to(sandbox, BEN) == ["for Ben only"]
    assert sent_to(sandbox, CAT) == ["for Cat only"]
    assert page.errors == []
