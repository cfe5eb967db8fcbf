"""axe-core (from the npm registry, ``make node``) on every page, light and dark, desktop
and phone: no serious or critical violation (and, on the phone, nothing wider than it).
One server, one browser context per size, each page checked once per theme; the pages
other features add are checked when this installation serves them. Also: the theme
toggle is remembered by this browser, and keyboard focus is always visible."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.e2e.inbox import bubble, customer_writes, sign_in, text
from tests.e2e.phone import AXE, DESKTOP, PHONE, axe_violations, overflow

PHONE_NUMBER = "351910000291"
#: Pages besides the inbox: checked when the server has them (contacts, campaigns and
#: automations come with their own features).
MORE_PAGES = ("/agents", "/contacts", "/campaigns", "/automations")


def _ready(page, path: str) -> None:
    """The page has drawn what its API gave it (axe checks what is on screen)."""
    if path.startswith("/#/chat/"):
        expect(bubble(page, "Where do we meet?")).to_be_visible()
        expect(page.locator("#thread-name")).to_have_text("Axe Customer")
    elif path == "/":
        expect(page.locator("#chat-list li").first).to_be_attached()
    elif path == "/agents":
        expect(page.locator("#agents-list tr").first).to_be_attached()
    else:
        page.wait_for_load_state("networkidle")


def test_every_page_passes_axe_in_both_themes_and_sizes(browser, live: LiveServer) -> None:
    if not AXE.exists():
        pytest.skip(f"no {AXE}: run 'make node' (npm ci) to install axe-core")
    customer_writes(live, PHONE_NUMBER, "Axe Customer", text(PHONE_NUMBER, "Where do we meet?"))
    found: dict[str, list[str]] = {}
    checked = []
    for size, touch in ((DESKTOP, False), (PHONE, True)):
        context = browser.new_context(base_url=live.url, viewport=size, is_mobile=touch,
                                      has_touch=touch)
        try:
            page = context.new_page()
            pages = ["/login"]
            for theme in ("light", "dark"):
                page.emulate_media(color_scheme=theme)
                page.goto("/login")
                found[f"/login {theme} {size['width']}"] = axe_violations(page)
            sign_in(page, "admin", ADMIN_PASSWORD)
            pages = ["/", f"/#/chat/{PHONE_NUMBER}"]
            for path in MORE_PAGES:
                answer = page.request.get(path, max_redirects=0)
                if answer.status == 200:
                    pages.append(path)
            for path in pages:
                for theme in ("light", "dark"):
                    page.emulate_media(color_scheme=theme)
                    page.goto(path)
                    _ready(page, path)
                    dark = page.evaluate("document.documentElement.classList.contains('dark')")
                    assert dark == (theme == "dark"), path
                    where = f"{path} {theme} {size['width']}"
                    found[where] = axe_violations(page)
                    if touch:  # and nothing scrolls sideways on the phone
                        found[where] += overflow(page)
                    checked.append(where)
                    if path == "/":  # and with the command palette open over it
                        page.keyboard.press("Control+k")
                        expect(page.locator("#palette")).to_be_visible()
                        found[f"{where} palette"] = axe_violations(page)
                        page.keyboard.press("Escape")
        finally:
            context.close()
    assert {f"/agents {t} {w}" for t in ("light", "dark") for w in (1280, 390)} <= set(checked)
    assert {where: v for where, v in found.items() if v} == {}


def test_the_theme_toggle_is_remembered_by_this_browser(agent_page) -> None:
    page = agent_page(color_scheme="light")
    toggle = page.get_by_role("button", name="Switch to dark mode")
    toggle.click()
    expect(page.locator("html")).to_have_class("h-full dark")
    assert page.evaluate("localStorage.getItem('crm.theme')") == "dark"
    page.reload()
    expect(page.locator("html")).to_have_class("h-full dark")
    expect(page.locator("body")).to_have_css("background-color", "oklch(0.17 0.042 265)")
    page.get_by_role("button", name="Switch to light mode").click()
    expect(page.locator("html")).to_have_class("h-full")
    # The system's choice is followed again when the agent asks for it (the palette).
    page.emulate_media(color_scheme="dark")
    page.keyboard.press("Control+k")
    page.keyboard.type("system")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_class("h-full dark")
    assert page.evaluate("localStorage.getItem('crm.theme')") is None


_FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'nothing';
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
    && !style.outlineColor.endsWith(', 0)') && style.outlineColor !== 'transparent';
  const ring = style.boxShadow !== 'none';
  return outline || ring ? '' : (el.id || el.tagName + ' ' + el.textContent.trim().slice(0, 30));
}"""


def test_keyboard_focus_is_always_visible(agent_page, live: LiveServer) -> None:
    customer_writes(live, PHONE_NUMBER, "Axe Customer", text(PHONE_NUMBER, "Tab through me"))
    page = agent_page()
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.goto(f"/#/chat/{PHONE_NUMBER}")
        expect(bubble(page, "Tab through me")).to_be_visible()
        page.locator("body").click(position={"x": 5, "y": 300})
        unseen = []
        for _ in range(45):  # the whole page, around once and a bit
            page.keyboard.press("Tab")
            shown = page.evaluate(_FOCUS_SHOWN)
            if shown and shown != "nothing":  # "nothing": past the last control, before the first
                unseen.append(shown)
        assert unseen == [], theme
