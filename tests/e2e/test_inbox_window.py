"""The 24-hour window by the server's clock: the browser's may be minutes off, every
display of the window changes on the same tick, and the server's 409 is final."""

from __future__ import annotations

import time
from email.utils import formatdate

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, text

DAY = 24 * 3600
CLOSING, CLOSED, REFUSED = "85262220001", "85262220002", "85262220003"


def test_window_displays_follow_the_servers_clock_together(agent_page,
                                                           live: LiveServer) -> None:
    customer_writes(live, CLOSING, "Closing Soon", text(CLOSING, "closing soon", ago=DAY - 90))
    customer_writes(live, CLOSED, "Just Closed", text(CLOSED, "just closed", ago=DAY + 120))
    customer_writes(live, REFUSED, "Refused", text(REFUSED, "refused", ago=DAY + 120))
    page = agent_page()
    # The server's clock, as its answers' Date headers tell the page: real time, moved
    # on with the page's fake clock when the test makes time pass (a refetch meanwhile
    # must not pull the page back to the real, unmoved, time).
    shift = {"seconds": 0.0}

    def server_time(route) -> None:
        if "/api/stream" in route.request.url:  # EventSource: no headers the page reads
            route.continue_()
            return
        try:
            answer = route.fetch()
            route.fulfill(response=answer, headers={
                **answer.headers, "date": formatdate(time.time() + shift["seconds"],
                                                     usegmt=True)})
        except PlaywrightError:  # the page closed while this answer was on its way
            pass

    page.route("**/api/**", server_time)
    # The browser's clock is ten minutes behind the server's.
    page.clock.install(time=time.time() - 600)
    page.goto(f"/#/chat/{CLOSED}")
    expect(bubble(page, "just closed")).to_be_visible()
    expect(page.locator("#window-closed")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_hidden()
    expect(page.locator("#thread-window")).to_contain_text("window closed")
    expect(chat_row(page, CLOSED).locator("[data-window]")).to_have_attribute("data-window",
                                                                              "closed")

    # Open for another 90 s; three minutes later header, composer and list all say closed.
    chat_row(page, CLOSING).get_by_role("link").click()
    expect(bubble(page, "closing soon")).to_be_visible()
    expect(page.locator("#thread-window")).to_contain_text("window open until")
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    badge = chat_row(page, CLOSING).locator("[data-window]")
    expect(badge).to_have_attribute("data-window", "open")
    expect(badge.locator(".window-left")).to_have_text("2 min")
    shift["seconds"] = 180
    page.clock.run_for(180_000)
    expect(page.locator("#thread-window")).to_contain_text("window closed")
    expect(page.locator("#window-closed")).to_be_visible()
    expect(badge).to_have_attribute("data-window", "closed")
    expect(badge.locator(".window-left")).to_have_text("")

    # The page believes the window is open (its clock jumped back): the server's 409
    # switches the composer to the template picker, for good.
    chat_row(page, REFUSED).get_by_role("link").click()
    expect(bubble(page, "refused")).to_be_visible()
    expect(page.locator("#window-closed")).to_be_visible()
    skew = 3 * 3600
    shift["seconds"] = -skew
    page.clock.set_system_time(time.time() - skew - 600)
    page.clock.run_for(2000)
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_visible()
    box.fill("too late?")
    box.press("Enter")
    expect(page.locator("#window-closed")).to_be_visible()
    expect(page.locator("#composer-error")).to_contain_text("24-hour window has closed")
    expect(page.get_by_label("Template")).to_be_visible()
    page.clock.run_for(5000)
    expect(box).to_be_hidden()
    expect(page.locator("#window-closed")).to_be_visible()
    assert page.errors == []
    page.unroute_all(behavior="ignoreErrors")
