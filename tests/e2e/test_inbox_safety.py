"""Customer text is shown as text: markup in names, messages, captions and file names
is displayed literally and runs nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, message, text

PHONE = "4915100000001"
NAME = '<script>alert("name")</script> Eve'
BODY = "<img src=x onerror=alert(1)>"
CAPTION = '<svg onload=alert("caption")>'
FILENAME = '"><img src=y onerror=alert("file")>.pdf'


def test_markup_from_customers_is_literal_text_and_runs_nothing(agent_page,
                                                               live: LiveServer) -> None:
    page = agent_page()
    # Anything that does run marks the page, whatever path it took.
    page.evaluate("() => { window.alert = () => { window.__ran = true; }; }")
    customer_writes(live, PHONE, NAME,
                    text(PHONE, BODY, ago=3),
                    message(PHONE, "document", {"id": "media-1", "mime_type": "application/pdf",
                                                "filename": FILENAME, "caption": CAPTION},
                            ago=2),
                    message(PHONE, "location", {"latitude": 1.5, "longitude": 2.5,
                                                "name": "<b>bold</b>"}, ago=1))
    row = chat_row(page, PHONE)
    expect(row.locator(".chat-name")).to_have_text(NAME)
    row.get_by_role("link").click()
    expect(page.locator("#thread-name")).to_have_text(NAME)
    expect(bubble(page, BODY).locator(".bubble-text")).to_have_text(BODY)
    expect(page.locator(".doc-name")).to_have_text(FILENAME)
    expect(bubble(page, CAPTION)).to_be_visible()
    expect(bubble(page, "<b>bold</b>")).to_be_visible()
    # Nothing became an element: no <img src=x>, no <script>, <svg onload>, or <b>.
    found = page.evaluate("""() => ({
        img: document.querySelectorAll('img[src="x"], img[src="y"]').length,
        script: [...document.scripts].filter(s => !s.src).length,
        onload: document.querySelectorAll('[onload], [onerror]').length,
        bold: document.querySelectorAll('#messages b').length,
        ran: Boolean(window.__ran),
    })""")
    assert found == {"img": 0, "script": 0, "onload": 0, "bold": 0, "ran": False}
    assert page.dialogs == []
    assert page.errors == []


CARD_PHONE = "4915100000002"
CARD_URLS = ("/\\evil.example/x", "\\\\evil.example/y", "//evil.example/z",
             "/\t/evil.example/t", "javascript:alert(1)", "data:text/html,hi",
             "https://shop.example/ok", "/media/0000")


def test_contact_card_links_that_leave_say_where_they_go(agent_page,
                                                         live: LiveServer) -> None:
    page = agent_page()
    card = {"name": {"formatted_name": "Linky"},
            "urls": [{"url": url, "type": "WORK"} for url in CARD_URLS]}
    customer_writes(live, CARD_PHONE, "Card sender", message(CARD_PHONE, "contacts", [card]))
    chat_row(page, CARD_PHONE).get_by_role("link").click()
    expect(page.locator(".contact-card")).to_be_visible()
    links = page.evaluate("""() => [...document.querySelectorAll('.contact-card a')].map(a => ({
        written: a.getAttribute('href'), text: a.textContent,
        ours: new URL(a.getAttribute('href'), location.href).origin === location.origin}))""")
    # Each link is shown as the browser will follow it: the ones that look like our
    # paths but lead to evil.example are absolute, and only a real path of ours is ours.
    assert [(x["written"], x["ours"]) for x in links] == [
        ("http://evil.example/x", False), ("http://evil.example/y", False),
        ("http://evil.example/z", False), ("http://evil.example/t", False),
        ("https://shop.example/ok", False), ("/media/0000", True)]
    assert all(x["text"] == x["written"] for x in links)
    assert page.errors == []
