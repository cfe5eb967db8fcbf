"""Agents replying from the inbox, through the fake Graph API that posts statuses back."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.auth_support import create_agent
from tests.conftest import LiveServer, admin_headers
from tests.e2e.inbox import bubble, chat_row, customer_writes, text
from tests.sandbox_support import GraphSandbox

# Records every delivery status a bubble shows, in order, however briefly.
WATCH_STATUSES = """(needle) => {
    window.__statuses = [];
    const note = () => {
        const li = [...document.querySelectorAll('#messages li.msg')]
            .find(el => el.textContent.includes(needle));
        const status = li && li.querySelector('.meta .status');
        const now = status && status.dataset.status;
        if (now && window.__statuses[window.__statuses.length - 1] !== now) {
            window.__statuses.push(now);
        }
    };
    new MutationObserver(note).observe(document.querySelector('#messages'),
        {childList: true, subtree: true, attributes: true});
    note();
}"""

ORDER = ["queued", "sent", "delivered", "read"]


def png(path: Path, width: int = 160, height: int = 100) -> Path:
    """A real PNG (a green gradient), written with the standard library."""
    rows = b"".join(b"\x00" + b"".join(bytes((30, 100 + x * 120 // width, 80 + y))
                                        for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def _assert_ticks_went_forward_to_read(page: Page, needle: str) -> None:
    row = bubble(page, needle)
    expect(row.locator(".meta .status")).to_have_attribute("data-status", "read", timeout=10000)
    seen = page.evaluate("() => window.__statuses")
    ranks = [ORDER.index(s) for s in seen]
    assert ranks == sorted(ranks), seen  # never backwards
    assert "sent" in seen or "delivered" in seen, seen
    assert seen[-1] == "read", seen


def test_two_agents_see_a_reply_and_its_ticks_go_to_read(agent_page, live: LiveServer) -> None:
    create_agent(live, admin_headers(live), "bea", "bea-password-1234")
    phone = "85291110001"
    customer_writes(live, phone, "Two Agents", text(phone, "Is the kayak free on Saturday?"))
    ana = agent_page()
    bea = agent_page("bea", "bea-password-1234")
    for page in (ana, bea):
        page.goto(f"/#/chat/{phone}")
        expect(bubble(page, "Is the kayak free on Saturday?")).to_be_visible()
        page.evaluate(WATCH_STATUSES, "We have one kayak left")

    box = ana.get_by_label("Message", exact=True)
    box.fill("We have one kayak left")
    box.press("Shift+Enter")
    box.press_sequentially("for you.")
    box.press("Enter")
    expect(box).to_have_value("")
    for page in (ana, bea):
        mine = bubble(page, "We have one kayak left")
        expect(mine).to_be_visible()
        expect(mine.locator(".bubble-text")).to_have_text("We have one kayak left\nfor you.")
        expect(mine).to_have_attribute("data-direction", "out")
        expect(mine.locator(".agent")).to_have_text("admin")
    for page in (ana, bea):
        _assert_ticks_went_forward_to_read(page, "We have one kayak left")
    # Bea's list shows the reply as the chat's last message, with its ticks.
    preview = chat_row(bea, phone).locator(".chat-preview")
    expect(preview).to_contain_text("We have one kayak left")
    expect(preview.locator(".status")).to_have_attribute("data-status", "read")


def test_a_reply_quotes_the_message_it_answers(agent_page, live: LiveServer) -> None:
    phone = "85291110002"
    customer_writes(live, phone, "Quoter", text(phone, "Which size is the blue one?", ago=2),
                    text(phone, "And the price?", ago=1))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    asked = page.locator("#messages li.msg[data-direction='in']").filter(
        has_text="Which size is the blue one?")
    asked.hover()
    asked.get_by_role("button", name="Reply to this message").click()
    expect(page.locator("#reply-bar")).to_be_visible()
    expect(page.locator("#reply-text")).to_have_text("Which size is the blue one?")
    page.get_by_label("Message", exact=True).fill("Size M")
    page.get_by_label("Message", exact=True).press("Enter")
    answer = bubble(page, "Size M")
    expect(answer.locator(".quote")).to_contain_text("Which size is the blue one?")
    expect(page.locator("#reply-bar")).to_be_hidden()
    answer.locator(".quote").click()
    expect(asked.locator(".bubble")).to_have_class(re.compile(r"\bflash\b"))


def test_sending_an_image_from_the_composer_shows_it_in_the_thread(
        agent_page, live: LiveServer, tmp_path: Path) -> None:
    phone = "85291110003"
    customer_writes(live, phone, "Photo Fan", text(phone, "Can I see it?"))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(bubble(page, "Can I see it?")).to_be_visible()
    page.locator("#file").set_input_files(str(png(tmp_path / "kayak.png")))
    preview = page.locator("#attachment-image")
    expect(preview).to_be_visible()
    expect(page.locator("#attachment-name")).to_have_text("kayak.png")
    assert page.evaluate("() => document.querySelector('#attachment-image').naturalWidth") == 160
    page.get_by_label("Message", exact=True).fill("The blue kayak")
    page.get_by_role("button", name="Send", exact=True).click()

    sent = bubble(page, "The blue kayak")
    image = sent.locator("img")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", re.compile(r"^/media/[0-9a-f]{64}$"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('#messages img')].some(i => i.naturalWidth === 160)")
    expect(page.locator("#attachment")).to_be_hidden()
    expect(sent.locator(".meta .status")).to_have_attribute("data-status", "read",
                                                            timeout=10000)
    # Click to enlarge, Escape to close.
    sent.get_by_role("button", name="Enlarge: The blue kayak").click()
    expect(page.locator("#lightbox")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()


def test_a_closed_window_offers_templates_and_refuses_free_text(
        agent_page, live: LiveServer, sandbox: GraphSandbox) -> None:
    phone = "85291110004"
    customer_writes(live, phone, "Old Friend", text(phone, "Thanks, bye!", ago=25 * 3600))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(bubble(page, "Thanks, bye!")).to_be_visible()
    expect(page.locator("#thread-window")).to_contain_text("window closed")
    expect(chat_row(page, phone).locator("[data-window]")).to_have_attribute("data-window",
                                                                              "closed")
    # No free text: the box is gone and disabled; a template is offered instead.
    expect(page.locator("#text")).to_be_hidden()
    expect(page.locator("#text")).to_be_disabled()
    expect(page.locator("#window-closed")).to_be_visible()
    picker = page.get_by_label("Template")
    expect(picker.locator("option")).to_have_count(3)  # approved ones only
    expect(picker.locator("option", has_text="summer_sale")).to_have_count(0)
    picker.select_option(label="order_update (en_US) · utility")
    page.get_by_label("Body {{1}}").fill("Ana")
    page.get_by_label("Body {{2}}").fill("#123")
    expect(page.locator("#template-preview")).to_have_text("Hi Ana, your order #123 is on its way.")
    page.get_by_role("button", name="Send template").click()

    sent = page.locator("#messages li.msg[data-type='template']")
    # As the customer saw it, with the template's name as a small label.
    expect(sent.locator(".template-name")).to_have_text("order_update")
    expect(sent.locator(".template-body")).to_have_text("Hi Ana, your order #123 is on its way.")
    expect(sent.locator(".meta .status")).to_have_attribute("data-status", "read",
                                                            timeout=10000)
    sent_to_meta = [m for m in sandbox.state.messages if m.get("to") == phone]
    assert [m["payload"]["template"]["name"] for m in sent_to_meta] == ["order_update"]
    assert all(m["payload"]["type"] == "template" for m in sent_to_meta)


def test_a_failed_reply_shows_metas_reason_and_retries(agent_page, live: LiveServer,
                                                       sandbox: GraphSandbox) -> None:
    phone = "85291110005"
    customer_writes(live, phone, "Unlucky", text(phone, "hello?"))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(bubble(page, "hello?")).to_be_visible()
    sandbox.behave(fail={"code": 131026, "times": 1})
    box = page.get_by_label("Message", exact=True)
    box.fill("This one fails first")
    box.press("Enter")
    failed = bubble(page, "This one fails first")
    expect(failed.locator(".meta .status")).to_have_attribute("data-status", "failed",
                                                              timeout=10000)
    expect(failed.locator(".failure")).to_contain_text("recipient is not on WhatsApp")
    expect(failed.locator(".failure")).to_contain_text("131026")
    failed.get_by_role("button", name="Retry").click()
    expect(failed.locator(".failure")).to_have_count(0, timeout=10000)
    expect(failed.locator(".meta .status")).to_have_attribute("data-status", "read",
                                                              timeout=10000)
