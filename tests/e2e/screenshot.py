"""Writes ``docs/inbox.png``: the inbox with a few conversations, as the README shows it.

Run: ``make screenshot`` (``python -m tests.e2e.screenshot [OUT.png]``). It starts a real
``crm serve`` against the fake Graph API on 127.0.0.1, lets a few customers write in
through signed webhooks, replies from the composer like an agent would (the fake Graph
server posts the delivery ticks back), and photographs the page in headless chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.conftest import ADMIN_PASSWORD, ROOT
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


def main(out: Path) -> None:
    sandbox = GraphSandbox(status_delay=0.1)
    with tempfile.TemporaryDirectory(prefix="crm-screenshot-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        live = start_crm(data, sandbox)
        try:
            conversations(live)
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
                page.locator("#chat-list").focus()
                page.mouse.move(0, 0)
                page.screenshot(path=str(out))
                browser.close()
        finally:
            live.stop()
            sandbox.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "inbox.png")
