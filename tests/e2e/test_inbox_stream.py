"""A dropped stream: the page says so, and on reconnecting misses nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from crm.events import EventStore
from crm.projections import default_projector
from tests.conftest import LiveServer, start_server
from tests.e2e.inbox import bubble, chat_row, customer_writes, text
from tests.factories import received


def test_a_lost_connection_is_shown_and_the_stream_resumes_without_a_gap(
        agent_page, live: LiveServer) -> None:
    phone = "4470000000071"
    customer_writes(live, phone, "Resumer", text(phone, "before the outage"))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(bubble(page, "before the outage")).to_be_visible()
    indicator = page.locator("#connection")
    expect(indicator).to_be_hidden()

    live.stop()
    expect(indicator).to_be_visible(timeout=10000)
    expect(indicator).to_have_text("Connection lost, reconnecting…")
    # While the page is cut off, another process records a message in the log.
    projector = default_projector()
    store = EventStore(live.db_path, projector)
    try:
        store.record([received(phone=phone, text="written while you were away",
                               wamid="wamid.e2e.away")])
    finally:
        store.close()

    again = start_server(live.data_dir, port=live.port, env=live.env)
    live.process = again.process  # the module's teardown stops this one
    expect(bubble(page, "written while you were away")).to_be_visible(timeout=15000)
    expect(indicator).to_be_hidden()
    expect(chat_row(page, phone).locator(".chat-preview")).to_contain_text(
        "written while you were away")
    # And it is live again.
    customer_writes(live, phone, "Resumer", text(phone, "after the outage"))
    expect(bubble(page, "after the outage")).to_be_visible(timeout=2000)
    assert page.errors == []
