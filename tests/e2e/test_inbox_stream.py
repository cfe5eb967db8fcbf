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


def test_a_load_error_clears_once_a_later_load_of_the_thread_works(
        agent_page, live: LiveServer) -> None:
    phone = "4470000000072"
    customer_writes(live, phone, "Flaky", text(phone, "first"))
    page = agent_page()
    page.goto(f"/#/chat/{phone}")
    expect(bubble(page, "first")).to_be_visible()
    status = page.locator("#messages-status")
    page.route("**/api/messages?*", lambda route: route.abort())
    # Frames carry their rows now, so a new message needs no load: the thread's own
    # load fails instead, when the chat is opened again.
    customer_writes(live, phone, "Flaky", text(phone, "lost in transit"))
    expect(bubble(page, "lost in transit")).to_be_visible()
    page.evaluate("location.hash = '#/'")
    page.evaluate(f"location.hash = '#/chat/{phone}'")
    expect(status).to_contain_text("Could not load messages")
    page.unroute("**/api/messages?*")
    customer_writes(live, phone, "Flaky", text(phone, "back again"))
    expect(bubble(page, "back again")).to_be_visible()
    expect(bubble(page, "lost in transit")).to_be_visible()
    expect(status).not_to_contain_text("Could not")
    expect(status).to_have_text("Start of the conversation")
