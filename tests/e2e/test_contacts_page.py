"""The Contacts page in a real browser (issue #16): find a customer of the sheet who never
wrote, correct their name and details inline, press "Message" and start the
conversation with an image-header template, then start another from the inbox's
"New conversation" with a typed local number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.events import EventStore
from crm.events.customers import CustomerUpdated, customer_stream
from crm.projections import default_projector
from tests.conftest import LiveServer
from tests.e2e.inbox import chat_row, customer_writes, text
from tests.sandbox_support import GraphSandbox, events, start_crm
from tests.test_new_conversation import PNG, TRIP_PHOTO

DEE, ANA, TYPED = "85291119001", "85291119000", "85291119002"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox(status_delay=0.2)
    fake.state.extra_templates.append(TRIP_PHOTO)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sandbox: GraphSandbox) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("contacts-page") / "data"
    data.mkdir()
    server = start_crm(data, sandbox, CRM_DEFAULT_COUNTRY_CODE="852")
    store = EventStore(server.db_path, default_projector())
    try:  # a row of the customer list: Dee never wrote
        store.record([CustomerUpdated(phone=DEE, name="Dee", attributes={"Boat": "Kayak"},
                                      source="csv:customers.csv").new(customer_stream(DEE))])
    finally:
        store.close()
    yield server
    server.stop()


def test_start_a_conversation_from_the_contacts_page(agent_page, live: LiveServer,
                                                     sandbox: GraphSandbox,
                                                     tmp_path: Path) -> None:
    customer_writes(live, ANA, "Ana", text(ANA, "hello there"))
    page = agent_page()
    page.get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(live.url + "/contacts")
    rows = page.locator("#contacts-list tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-key", ANA)  # chats first, then the list
    expect(rows.nth(1).locator(".contact-number")).to_have_text(f"+{DEE}")
    expect(rows.nth(1)).to_contain_text("No chat yet")

    page.get_by_label("Search contacts").fill("kayak")  # an attribute matches too
    expect(rows).to_have_count(1)
    rows.first.locator(".contact-name").click()
    panel = page.locator("#contact-panel")
    expect(panel.locator("#contact-name")).to_have_text("Dee")
    panel.get_by_label("Name", exact=True).fill("Dee Lima")
    panel.get_by_role("button", name="Add a detail").click()
    panel.get_by_label("Detail name").last.fill("City")
    panel.locator(".attribute-value").last.fill("Porto")
    panel.get_by_role("button", name="Save").click()
    expect(panel.locator("#contact-saved")).to_have_text("Saved.")
    expect(rows.first.locator(".contact-name")).to_have_text("Dee Lima")
    [edit] = [e for e in events(live, "customer.updated") if e["actor"] == "agent:admin"]
    assert edit["data"]["fields"] == ["name", "attributes.City"]
    assert edit["data"]["attributes"] == {"Boat": "Kayak", "City": "Porto"}

    # "Message": no chat yet, so the inbox offers the templates that can start one.
    panel.get_by_role("button", name="Message").click()
    expect(page).to_have_url(f"{live.url}/#/chat/{DEE}")
    expect(page.locator("#window-closed-note")).to_contain_text(f"New conversation with +{DEE}")
    picker = page.get_by_label("Template")
    picker.select_option(label="trip_photo (en_US) · marketing")
    photo = tmp_path / "kayak.png"
    photo.write_bytes(PNG)
    page.get_by_label("Header image (required)").set_input_files(str(photo))
    page.get_by_label("Body {{1}}").fill("Dee")
    page.get_by_label("Body {{2}}").fill("Sunday")
    page.get_by_label("Button “See the route” link ending").fill("dee42")
    preview = page.locator("#template-preview")
    expect(preview.locator("img.template-preview-image")).to_be_visible()
    expect(preview).to_contain_text("Hi Dee, here is your kayak trip on Sunday.")
    expect(preview).to_contain_text("Reply STOP to opt out")
    expect(preview.locator("li")).to_have_text(["See the route", "Book again", "Call us"])
    page.get_by_role("button", name="Send template").click()

    sent = page.locator("#messages li.msg[data-type='template']")
    expect(sent.locator(".template-body")).to_have_text(
        "Hi Dee, here is your kayak trip on Sunday.")
    expect(sent.locator(".template-media img")).to_be_visible()
    expect(chat_row(page, DEE)).to_be_visible()
    expect(chat_row(page, DEE)).to_contain_text("Dee Lima")
    expect(sent.locator(".meta .status")).to_have_attribute("data-status", "read", timeout=10000)
    at_meta = [m["payload"]["template"] for m in sandbox.state.messages if m.get("to") == DEE]
    assert [t["name"] for t in at_meta] == ["trip_photo"]
    header, body, url = at_meta[0]["components"]
    assert header["parameters"][0]["image"]["id"] in sandbox.state.media
    assert [p["text"] for p in body["parameters"]] == ["Dee", "Sunday"]
    assert url["parameters"] == [{"type": "text", "text": "dee42"}]

    # The inbox's "New conversation": a local number, normalised by the server.
    page.get_by_role("button", name="New conversation").click()
    dialog = page.locator("#new-chat-dialog")
    dialog.get_by_label("Phone number, or a customer's name").fill("12")
    dialog.get_by_role("button", name="Choose a template").click()
    expect(dialog.locator("#new-chat-error")).to_contain_text("digits")
    dialog.get_by_label("Phone number, or a customer's name").fill("9111 9002")
    dialog.get_by_role("button", name="Choose a template").click()
    expect(page).to_have_url(f"{live.url}/#/chat/{TYPED}")
    expect(page.locator("#window-closed-note")).to_contain_text(f"New conversation with +{TYPED}")
    # A customer by name: Ana has a chat, which opens.
    page.get_by_role("button", name="New conversation").click()
    dialog.get_by_label("Phone number, or a customer's name").fill("Ana")
    dialog.locator(".new-chat-match").filter(has_text="Ana").click()
    expect(page).to_have_url(f"{live.url}/#/chat/{ANA}")
    expect(page.locator("#messages li.msg").filter(has_text="hello there")).to_be_visible()
    # The inbox's customer panel links to the contact, whose panel opens at once.
    page.goto(f"/#/chat/{DEE}")
    page.get_by_role("button", name="Customer details").click()
    page.get_by_role("link", name="Edit in Contacts").click()
    expect(page.locator("#contact-name")).to_have_text("Dee Lima")
    assert page.errors == []
