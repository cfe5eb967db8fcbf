"""The inbox in a pocket and at the keyboard (issue 19): the phone flow, the installable
app and its offline shell, and the command palette."""

from __future__ import annotations

import struct

import httpx
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, message, sign_in, text
from tests.e2e.phone import (
    AXE,
    PHONE,
    SMALL_PHONE,
    TABLET,
    axe_violations,
    in_view,
    overflow,
    small_targets,
)


def test_sign_in_open_reply_and_back_on_a_phone(browser, live: LiveServer) -> None:
    phone = "351910000191"
    first = text(phone, "Is the canoe free today?", ago=30)
    customer_writes(live, phone, "Marta Phone", first)
    context = browser.new_context(base_url=live.url, viewport=PHONE, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/login")
        assert overflow(page) == []
        assert small_targets(page) == []
        sign_in(page, "admin", ADMIN_PASSWORD)
        row = chat_row(page, phone)
        expect(row).to_be_visible()
        assert overflow(page) == []
        assert small_targets(page) == []
        # The header's actions are behind a menu that opens and closes with a tap.
        menu = page.get_by_role("button", name="Menu")
        menu.tap()
        expect(page.get_by_role("button", name="Quick replies")).to_be_visible()
        assert overflow(page) == []
        menu.tap()
        expect(page.get_by_role("button", name="Quick replies")).to_be_hidden()

        row.get_by_role("link").tap()
        expect(bubble(page, "Is the canoe free today?")).to_be_visible()
        expect(page.locator("#sidebar")).to_be_hidden()
        assert overflow(page) == []
        assert small_targets(page) == []
        # The camera and the gallery: two inputs, only the camera's asks for `capture`.
        expect(page.get_by_role("button", name="Take a photo with the camera")).to_be_visible()
        expect(page.locator("#camera")).to_have_attribute("capture", "environment")
        assert page.locator("#file").get_attribute("capture") is None

        box = page.get_by_label("Message", exact=True)
        box.tap()
        expect(box).to_be_focused()
        assert in_view(page, "#send")
        # The on-screen keyboard takes the lower part of the screen: the page shrinks
        # above it (visual viewport), and the composer with its send button follows.
        page.set_viewport_size({"width": PHONE["width"], "height": 480})
        page.wait_for_function("() => getComputedStyle(document.querySelector('#app')).height"
                               " === Math.round(visualViewport.height) + 'px'")
        expect(box).to_be_focused()
        assert in_view(page, "#send") and in_view(page, "#text")
        assert overflow(page) == []
        box.fill("Yes, from 10 to 6. Shall I book it?")
        page.get_by_role("button", name="Send", exact=True).tap()
        mine = bubble(page, "Shall I book it?")
        expect(mine.locator(".status")).to_have_attribute("data-status", "read", timeout=10000)
        # Ticks re-render the bubble: the live region says nothing about them.
        announce = page.locator("#thread-announce")
        expect(announce).to_have_text("")
        customer_writes(live, phone, "Marta Phone", text(phone, "Yes please, two of us"))
        expect(announce).to_have_text("New message from Marta Phone: Yes please, two of us")
        page.set_viewport_size(PHONE)

        page.get_by_role("button", name="Back to chats").tap()
        expect(row).to_be_visible()
        expect(page.locator("#thread")).to_be_hidden()
        assert overflow(page) == []
        # A smaller phone: still one column, nothing sideways, nothing too small to tap.
        page.set_viewport_size(SMALL_PHONE)
        assert overflow(page) == [] and small_targets(page) == []
        row.get_by_role("link").tap()
        expect(page.locator("#sidebar")).to_be_hidden()
        assert overflow(page) == [] and small_targets(page) == []
        # A tablet: the desktop's two columns, still sized for fingers.
        page.set_viewport_size(TABLET)
        expect(page.locator("#sidebar")).to_be_visible()
        expect(page.locator("#thread-view")).to_be_visible()
        assert overflow(page) == [] and small_targets(page) == []
        assert errors == []
    finally:
        context.close()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_app_installs_and_its_shell_works_offline(agent_page, live: LiveServer) -> None:
    # Public like static files (the browser fetches both without a session).
    with live.client(follow_redirects=False) as anonymous:
        worker = anonymous.get("/sw.js")
        manifest = anonymous.get("/manifest.webmanifest")
    assert worker.status_code == 200, worker.text
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in worker.headers["content-security-policy"]
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/manifest+json"
    app = manifest.json()
    assert (app["display"], app["start_url"], app["scope"]) == ("standalone", "/", "/")
    sizes = set()
    for icon in app["icons"]:
        image = httpx.get(live.url + icon["src"])
        assert image.headers["content-type"] == "image/png"
        width, height = _png_size(image.content)
        assert f"{width}x{height}" == icon["sizes"]
        sizes.add(width)
    assert {192, 512} <= sizes and any(i["purpose"] == "maskable" for i in app["icons"])

    phone = "351910000192"
    customer_writes(live, phone, "Offline Olga", text(phone, "a private customer message"))
    page = agent_page()
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == live.url + "/"
    # Installed (it registers once the first page has loaded): the next open is its client.
    page.goto(f"/#/chat/{phone}")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    expect(bubble(page, "a private customer message")).to_be_visible()
    version = page.evaluate(
        "new URL(document.querySelector('link[rel=stylesheet]').href).searchParams.get('v')")
    cached = page.evaluate("""async () => {
      const all = {};
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        all[name] = (await cache.keys()).map((r) => new URL(r.url).pathname);
      }
      return all;
    }""")
    assert list(cached) == [f"crm-shell-{version}"]
    urls = cached[f"crm-shell-{version}"]
    assert "/static/offline.html" in urls and "/static/css/app.css" in urls
    assert all(url.startswith("/static/") for url in urls), urls  # no /api/, no page
    for name in cached:
        assert page.evaluate("""async (name) => {
          const cache = await caches.open(name);
          for (const request of await cache.keys()) {
            const body = await (await cache.match(request)).text();
            if (body.includes('a private customer message')) return true;
          }
          return false;
        }""", name) is False

    assert page.request.get("/api/chats").headers["cache-control"] == "no-store"  # nor HTTP's
    # Notifications go through the worker (an installed app on Android has no other way).
    page.context.grant_permissions(["notifications"], origin=live.url)
    customer_writes(live, "351910000196", "Notified Nuno",
                    text("351910000196", "is anyone there?"))
    page.wait_for_function("""() => navigator.serviceWorker.getRegistration()
        .then((r) => r.getNotifications())
        .then((all) => all.some((n) => n.body === 'is anyone there?'
                                && n.data.phone === '351910000196'))""")

    page.context.set_offline(True)
    try:
        notice = page.locator("#offline-notice")
        expect(notice).to_be_visible()
        page.reload()
        expect(page.get_by_role("heading", name="No network")).to_be_visible()
        expect(notice).to_be_visible()
        # The shell's stylesheet came from the cache: the header is the inbox's green.
        expect(page.locator("header")).to_have_css("background-color", "oklch(0.432 0.095 166.913)")
        if AXE.exists():
            assert axe_violations(page) == []
    finally:
        page.context.set_offline(False)
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("#agent-name")).to_have_text("admin")


def test_the_command_palette_jumps_to_a_chat_and_resolves_it(agent_page, live: LiveServer) -> None:
    phone = "351910000193"
    asked = text(phone, "Palette question", ago=20)
    customer_writes(live, phone, "Keyboard Karla", asked)
    customer_writes(live, "351910000194", "Someone Else", text("351910000194", "other"))
    customer_writes(live, "351910000195", "Third Person", text("351910000195", "third"))
    page = agent_page()
    expect(chat_row(page, phone)).to_be_visible()
    page.locator("body").click(position={"x": 900, "y": 400})  # no field has the keys
    page.keyboard.press("?")
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+k")
    palette = page.get_by_role("combobox", name="Command or chat")
    expect(palette).to_be_focused()
    page.keyboard.type("Keyboard Ka")
    expect(page.locator("#palette-list [role=option]").first).to_contain_text("Keyboard Karla")
    page.keyboard.press("Enter")
    expect(page.locator("#thread-name")).to_have_text("Keyboard Karla")
    assert page.evaluate("location.hash") == f"#/chat/{phone}"
    # Typing in the composer is never a shortcut: j, k, e and ? stay letters.
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    page.keyboard.type("jke?")
    expect(box).to_have_value("jke?")
    expect(page.locator("#wf-status")).to_have_text("Open")
    box.fill("")
    page.keyboard.press("Control+k")
    page.keyboard.type("resolve")
    expect(page.locator("#palette-list [role=option]").first).to_contain_text("Resolve this chat")
    page.keyboard.press("Enter")
    expect(page.locator("#wf-status")).to_have_text("Resolved")
    expect(box).to_be_focused()  # the palette gives focus back

    # Focus stays on a bubble's control when the bubble is drawn again (a reaction).
    reply = bubble(page, "Palette question").get_by_role("button", name="Reply to this message")
    reply.focus()
    customer_writes(live, phone, "Keyboard Karla",
                    message(phone, "reaction", {"message_id": asked["id"], "emoji": "👍"}))
    expect(bubble(page, "Palette question").locator(".reactions")).to_have_text("👍")
    focused = page.evaluate("""() => [document.activeElement.getAttribute('aria-label'),
                                      document.activeElement.closest('li.msg')?.textContent]""")
    assert focused[0] == "Reply to this message" and "Palette question" in focused[1]

    # A number that has no conversation yet: the palette starts one (the template picker).
    page.keyboard.press("Escape")
    page.keyboard.press("Control+k")
    page.keyboard.type("+49 151 2345 6789")
    expect(page.locator("#palette-list [role=option]").first).to_have_text(
        "Open or start a conversation with +4915123456789")
    page.keyboard.press("Enter")
    expect(page.locator("#thread-window")).to_have_text("No conversation with this number yet")
    page.go_back()
    expect(page.locator("#thread-name")).to_have_text("Keyboard Karla")

    # j / k walk the chat list, Enter opens.
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 900, "y": 400})
    page.keyboard.press("j")
    first = page.locator("#chat-list a.chat-row").first
    expect(first).to_be_focused()
    page.keyboard.press("j")
    second = page.locator("#chat-list a.chat-row").nth(1)
    expect(second).to_be_focused()
    # News for the focused chat redraws its row and moves it to the top: focus follows it.
    moved = second.get_attribute("href")
    news = moved.rsplit("/", 1)[1]
    customer_writes(live, news, None, text(news, "news for the focused row"))
    focused_row = page.locator(f'#chat-list a.chat-row[href="{moved}"]')
    expect(focused_row).to_contain_text("news for the focused row")
    expect(focused_row).to_be_focused()
    expect(page.locator("#chat-list a.chat-row").first).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#thread-view")).to_be_visible()
