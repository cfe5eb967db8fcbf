"""The stale-reply guard in the page: agent A drafts a reply, agent B answers first;
A's send is refused with what B wrote, the draft stays, and "Send anyway" delivers it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import LiveServer, admin_headers, wait_until
from tests.e2e.inbox import (
    bubble,
    chat_row,
    customer_writes,
    held_frames,
    hold_stream,
    holdable_stream,
    release_stream,
    text,
)

ANA_PASSWORD = "ana-password-for-tests"


def test_a_reply_to_a_chat_that_moved_on_is_shown_then_sent_anyway(
        agent_page, live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        made = http.post("/api/agents", json={"name": "ana", "password": ANA_PASSWORD})
        assert made.status_code < 300, made.text
    phone = "85291000101"
    customer_writes(live, phone, "Rita Sousa", text(phone, "Are two kayaks free today?"))

    admin = agent_page()
    holdable_stream(admin)
    ana = agent_page("ana", ANA_PASSWORD)
    for page in (admin, ana):
        expect(page.locator('[data-count="all"]')).not_to_have_text("")
        chat_row(page, phone).get_by_role("link").click()
        expect(bubble(page, "Are two kayaks free today?")).to_be_visible()
    draft = "Yes, two are free from 10:00"
    composer = admin.get_by_label("Message", exact=True)
    composer.fill(draft)

    # The admin's page has not caught up yet: the stream's events (which carry the new
    # rows) are held back in its browser, so what it shows is older than what Ana is
    # about to send.
    hold_stream(admin)
    ana_composer = ana.get_by_label("Message", exact=True)
    ana_composer.fill("Ana here: both kayaks are yours")
    ana_composer.press("Enter")
    expect(bubble(ana, "Ana here: both kayaks are yours")).to_be_visible()
    wait_until(lambda: held_frames(admin) > 0, message="the admin's page to hold Ana's reply")

    composer.press("Enter")
    notice = admin.locator("#stale-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("ana replied meanwhile: “Ana here: both kayaks are yours”")
    expect(composer).to_have_value(draft)  # the draft is kept
    assert held_frames(admin)  # the events the stream brought, still waiting
    release_stream(admin)
    expect(bubble(admin, "Ana here: both kayaks are yours")).to_be_visible()
    expect(bubble(admin, draft)).to_have_count(0)

    admin.get_by_role("button", name="Send anyway").click()
    expect(notice).to_be_hidden()
    expect(bubble(admin, draft)).to_be_visible()
    expect(composer).to_have_value("")
    expect(bubble(ana, draft)).to_be_visible()
    with live.client(headers=admin_headers(live)) as http:
        thread = http.get("/api/messages", params={"phone": phone}).json()["messages"]
    assert [m["text"] for m in thread if m["direction"] == "out"] == [
        "Ana here: both kayaks are yours", draft]
    assert admin.errors == [] and ana.errors == []
