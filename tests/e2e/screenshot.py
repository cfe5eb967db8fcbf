"""Writes ``docs/inbox.png``: the inbox with a few conversations, as the README shows it;
with ``--team``, ``docs/team.png``: the sidebar tabs with their counts, an assigned and
labelled chat, and a yellow note beside the customer's messages; with ``--phone``,
``docs/phone-list.png`` and ``docs/phone-thread.png``: the same inbox on a 390x844 phone
(touch), the chat list and then the open thread.

Run: ``make screenshot`` (``python -m tests.e2e.screenshot [OUT.png] [--team|--phone]``).
It starts a real ``crm serve`` against the fake Graph API on 127.0.0.1, lets a few
customers write in through signed webhooks, replies from the composer like an agent would
(the fake Graph server posts the delivery ticks back), and photographs the page in
headless chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.conftest import ADMIN_PASSWORD, ROOT, admin_headers
from tests.e2e.inbox import customer_writes, message, sign_in, text
from tests.sandbox_support import GraphSandbox, start_crm

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ANA = "351912345678"


def conversations(live) -> None:
    """Customers of a kayak rental, oldest activity first."""
    customer_writes(live, "393401234567", "Sofia Rossi",
                    text("393401234567", "Grazie mille, see you next summer!", ago=5 * 86400))
    customer_writes(live, "447700900123", "Olivia Grant",
                    text("447700900123", "Thanks for a great day on the river!", ago=2 * 86400))
    customer_writes(live, "5521998765432", "Rafael Costa",
                    text("5521998765432", "Can we bring our dog on the boat?", ago=20 * 3600))
    customer_writes(live, "5511987654321", "Carla Souza", message(
        "5511987654321", "location", {"latitude": -23.0, "longitude": -43.2,
                                      "name": "Marina Sul, pier 3"}, ago=3 * 3600))
    customer_writes(live, "4915112345678", "Jonas Weber",
                    text("4915112345678", "Do you have life vests for kids?", ago=2 * 3600))
    customer_writes(live, "33612345678", "Dominique Martin",
                    text("33612345678", "Hello, can I pay by card on site?", ago=50 * 60),
                    text("33612345678", "And is parking free?", ago=48 * 60))
    customer_writes(live, ANA, "Ana Lima",
                    text(ANA, "Hi, is the double kayak free on Saturday morning?", ago=30 * 60))


def team(live) -> None:
    """A second agent, an assignment each, a label and a note, through the API."""
    with live.client(headers=admin_headers(live)) as http:
        def call(path: str, body: dict) -> dict:
            answer = http.post(path, json=body)
            assert answer.status_code < 300, answer.text
            return answer.json()

        call("/api/agents", {"name": "bruno", "password": "bruno-screenshot-password"})
        call("/api/labels", {"name": "booking", "color": "#0ea5e9"})
        call(f"/api/chats/{ANA}/assign", {"agent": "admin"})
        call(f"/api/chats/{ANA}/labels", {"add": ["booking"]})
        call("/api/chats/4915112345678/assign", {"agent": "bruno"})
        call("/api/chats/33612345678/assign", {"agent": "admin"})
        call("/api/chats/393401234567/status", {"status": "resolved"})
        call(f"/api/chats/{ANA}/notes",
             {"text": "@bruno she is a regular: the 10% club discount applies"})


def phone_pictures(browser, live, out: Path) -> None:
    """The list, then the thread (the second picture's name: -list replaced by -thread)."""
    context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    expect(page.locator("#chat-list li")).to_have_count(7)
    page.screenshot(path=str(out))
    page.locator(f'#chat-list li[data-phone="{ANA}"] a').tap()
    expect(page.locator("#messages .status[data-status='read']")).to_have_count(2)
    page.get_by_label("Message", exact=True).fill("See you on Saturday!")
    page.screenshot(path=str(out.with_name(out.name.replace("-list", "-thread"))))
    context.close()


def main(out: Path, with_team: bool = False, phone: bool = False) -> None:
    sandbox = GraphSandbox(status_delay=0.1)
    with tempfile.TemporaryDirectory(prefix="crm-screenshot-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        live = start_crm(data, sandbox)
        try:
            conversations(live)
            if with_team:
                team(live)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                context = browser.new_context(base_url=live.url,
                                              viewport={"width": 1280, "height": 760})
                page = context.new_page()
                sign_in(page, "admin", ADMIN_PASSWORD)
                page.goto(f"/#/chat/{ANA}")
                box = page.get_by_label("Message", exact=True)
                box.fill("Yes! It is free from 9 to 5. Shall I book it for you?")
                box.press("Enter")
                expect(page.locator("#messages .status[data-status='read']")).to_have_count(1)
                customer_writes(live, ANA, "Ana Lima",
                                text(ANA, "Perfect, 10 o'clock please. We are two adults."))
                box.fill("Booked: Saturday 10:00, double kayak. See you at the marina!")
                box.press("Enter")
                expect(page.locator("#messages .status[data-status='read']")).to_have_count(2)
                if with_team:
                    expect(page.locator('#messages li[data-direction="note"]')).to_have_count(1)
                    expect(page.locator('[data-count="mine"]')).to_have_text("2")
                page.locator("#chat-list").focus()
                page.mouse.move(0, 0)
                if phone:
                    phone_pictures(browser, live, out)
                else:
                    page.screenshot(path=str(out))
                browser.close()
        finally:
            live.stop()
            sandbox.close()
    print(f"wrote {out}" + (" and its -thread picture" if phone else ""))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a not in ("--team", "--phone")]
    team_picture, phone_picture = "--team" in sys.argv[1:], "--phone" in sys.argv[1:]
    name = "team.png" if team_picture else "phone-list.png" if phone_picture else "inbox.png"
    main(Path(args[0]) if args else ROOT / "docs" / name, with_team=team_picture,
         phone=phone_picture)
