"""Helpers of the inbox browser tests: customers writing in, agents signing in."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from crm.sandbox import PHONE_NUMBER_ID
from tests import meta_payloads as meta
from tests.conftest import LiveServer
from tests.sandbox_support import SECRET

_ids = itertools.count(1)


def wamid() -> str:
    return f"wamid.e2e.{time.time_ns()}.{next(_ids)}"


def customer_writes(server: LiveServer, phone: str, name: str | None, *messages: dict[str, Any],
                    ) -> httpx.Response:
    """A signed Meta webhook carrying ``messages`` from one customer; asserts the 200."""
    contacts = [meta.contact(phone, name)] if name is not None else []
    # For the number the server is configured with (the sandbox's): webhooks naming
    # another number stay out of the inbox.
    body = meta.body_of(meta.envelope(meta.messages_change(
        messages=messages, contacts=contacts, phone_number_id=PHONE_NUMBER_ID)))
    with server.client() as http:
        answer = meta.post(http, body, secret=SECRET)
    assert answer.status_code == 200, answer.text
    return answer


def text(phone: str, body: str, ago: float = 0, **extra: Any) -> dict[str, Any]:
    """A text message from ``phone`` sent ``ago`` seconds before now (Meta's clock)."""
    return meta.text(wamid(), phone, body, ts=int(time.time() - ago), **extra)


def message(phone: str, kind: str, payload: Any, ago: float = 0, **extra: Any) -> dict:
    return meta.message(wamid(), phone, kind, payload, ts=int(time.time() - ago), **extra)


def sign_in(page: Page, name: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#agent-name")).to_have_text(name)


def chat_row(page: Page, phone: str):
    return page.locator(f'#chat-list li[data-phone="{phone}"]')


def bubble(page: Page, text: str):
    return page.locator("#messages li.msg").filter(has_text=text)


# The browser's EventSource, wrapped so a test can hold the stream's events back (a page
# that has not caught up yet) and let them through later. Only the browser's own class is
# wrapped: the page's code runs unchanged.
_HOLDABLE_STREAM = """(() => {
  const Native = window.EventSource;
  window.__heldFrames = null;
  window.EventSource = class extends Native {
    addEventListener(type, listener, options) {
      const gated = (event) => {
        if (window.__heldFrames && type !== "open" && type !== "error") {
          window.__heldFrames.push(() => listener.call(this, event));
        } else {
          listener.call(this, event);
        }
      };
      super.addEventListener(type, gated, options);
    }
  };
})();"""


def holdable_stream(page: Page) -> None:
    """Reload ``page`` with a stream whose events ``hold_stream`` can hold back."""
    page.context.add_init_script(_HOLDABLE_STREAM)
    page.reload()


def hold_stream(page: Page) -> None:
    page.evaluate("window.__heldFrames = []")


def held_frames(page: Page) -> int:
    return page.evaluate("(window.__heldFrames || []).length")


def release_stream(page: Page) -> None:
    """Deliver the held events, in order, and stop holding."""
    page.evaluate("(() => { const held = window.__heldFrames || []; "
                  "window.__heldFrames = null; held.forEach((deliver) => deliver()); })()")
