"""The team workflow in the page: two agents in two browsers share assignment, notes
and status live; quick replies expand; the Agents page adds an agent who signs in."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer, admin_headers
from tests.e2e.inbox import bubble, chat_row, customer_writes, sign_in, text

BOB_PASSWORD = "bob-password-for-tests"


def _api(live: LiveServer, method: str, path: str, **kwargs) -> httpx.Response:
    with live.client(headers=admin_headers(live)) as http:
        answer = http.request(method, path, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer


def test_two_agents_assign_note_and_resolve_live(agent_page, live: LiveServer) -> None:
    _api(live, "POST", "/api/agents", json={"name": "bob", "password": BOB_PASSWORD})
    phone = "85291000001"
    customer_writes(live, phone, "Rita Sousa", text(phone, "Can I book two kayaks?"))

    admin = agent_page()
    bob = agent_page("bob", BOB_PASSWORD)
    # The counts are the page's scripts having started: a click before would be lost.
    expect(bob.locator('[data-count="all"]')).not_to_have_text("")
    unassigned = bob.get_by_role("button", name=re.compile("^Unassigned"))
    unassigned.click()
    expect(unassigned).to_have_attribute("aria-pressed", "true")
    expect(chat_row(bob, phone)).to_be_visible()
    expect(bob.locator('[data-count="unassigned"]')).not_to_have_text("")
    before = int(bob.locator('[data-count="unassigned"]').inner_text())

    # Assigning from one page takes the chat out of the other's Unassigned tab, live.
    chat_row(admin, phone).get_by_role("link").click()
    expect(admin.locator("#wf-status")).to_have_text("Open")
    admin.locator("#messages").click()  # out of the composer: `a` is a shortcut again
    admin.keyboard.press("a")
    expect(admin.get_by_label("Assignee")).to_have_value("admin")
    expect(chat_row(bob, phone)).to_have_count(0)
    expect(bob.locator('[data-count="unassigned"]')).to_have_text(str(before - 1))
    expect(chat_row(admin, phone).locator(".assignee")).to_have_attribute(
        "aria-label", "Assigned to admin")

    # A note mentioning @bob, chosen from the autocomplete with the keyboard.
    admin.get_by_role("button", name="Note", exact=True).click()
    note = admin.get_by_label("Private note")
    note.press_sequentially("Please call her back @b")
    suggestions = admin.get_by_role("listbox", name="Suggestions")
    expect(suggestions.get_by_role("option", name="bob")).to_be_visible()
    note.press("Enter")
    expect(note).to_have_value("Please call her back @bob ")
    note.press("Enter")
    expect(note).to_have_value("")
    bob.get_by_role("button", name=re.compile("^All")).click()
    chat_row(bob, phone).get_by_role("link").click()
    bob_note = bob.locator('#messages li[data-direction="note"]')
    expect(bob_note).to_have_count(1)
    expect(bob_note.locator(".note-agent")).to_have_text("admin")
    expect(bob_note.locator(".mention")).to_have_text("@bob")
    expect(bubble(bob, "Can I book two kayaks?")).to_be_visible()

    # Resolve with `e`; the customer writing again reopens it on both pages.
    admin.locator("#messages").click()
    admin.keyboard.press("e")
    expect(admin.locator("#wf-status")).to_have_text("Resolved")
    expect(bob.locator("#wf-status")).to_have_text("Resolved")
    expect(chat_row(bob, phone)).to_have_count(0)  # All shows open chats
    customer_writes(live, phone, "Rita Sousa", text(phone, "Hello again"))
    expect(admin.locator("#wf-status")).to_have_text("Open")
    expect(bob.locator("#wf-status")).to_have_text("Open")
    expect(chat_row(bob, phone)).to_be_visible()
    expect(admin.get_by_label("Assignee")).to_have_value("admin")
    assert admin.errors == [] and bob.errors == []


def test_quick_reply_expands_with_the_customers_name(agent_page, live: LiveServer) -> None:
    _api(live, "POST", "/api/quick-replies",
         json={"shortcut": "prices", "text": "Hi {{name}}, a single kayak is 20 euros. {{agent}}"})
    phone = "85291000002"
    customer_writes(live, phone, "Marta Reis", text(phone, "How much is it?"))
    page = agent_page()
    chat_row(page, phone).get_by_role("link").click()
    composer = page.get_by_label("Message", exact=True)
    composer.press_sequentially("/pri")
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions.get_by_role("option", name=re.compile("prices"))).to_be_visible()
    composer.press("Enter")
    expect(composer).to_have_value("Hi Marta Reis, a single kayak is 20 euros. admin")
    composer.press("Escape")  # nothing open: the composer's own Escape, no send
    expect(suggestions).to_be_hidden()

    # The manager lists it and edits it.
    page.get_by_role("button", name="Quick replies").click()
    page.get_by_role("button", name="Edit /prices").click()
    page.get_by_role("textbox", name="Text", exact=True).fill("Hello {{name}}!")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#qr-list")).to_contain_text("Hello {{name}}!")
    assert page.errors == []


def test_agents_page_adds_an_agent_who_can_sign_in(agent_page, browser,
                                                   live: LiveServer) -> None:
    page = agent_page()
    expect(page.locator('[data-count="all"]')).not_to_have_text("")
    page.get_by_role("link", name="Agents").click()
    expect(page).to_have_url(re.compile("/agents$"))
    page.get_by_label("Name", exact=True).fill("carol")
    page.get_by_label("Password", exact=True).fill("carol-password-1")
    page.get_by_role("button", name="Add agent").click()
    expect(page.locator("#agents-message")).to_have_text("carol can now sign in.")
    expect(page.locator('#agents-list tr[data-agent="carol"]')).to_contain_text("Active")

    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#token-secret")).to_contain_text("crm_")

    context = browser.new_context(base_url=live.url)
    try:
        carol = context.new_page()
        sign_in(carol, "carol", "carol-password-1")
        carol.goto("/agents")  # not an admin: back to the inbox
        expect(carol).to_have_url(re.compile("/$"))
        page.get_by_role("button", name="Make carol admin").click()
        expect(page.locator("#agents-message")).to_have_text("carol is now an admin.")
        expect(page.locator('#agents-list tr[data-agent="carol"]')).to_contain_text("Admin")
        carol.goto("/agents")  # an admin now, in the same session
        expect(carol).to_have_url(re.compile("/agents$"))
        expect(carol.locator('#agents-list tr[data-agent="admin"]')).to_be_visible()
        page.get_by_role("button", name="Remove admin from carol").click()
        expect(page.locator("#agents-message")).to_have_text("carol is no longer an admin.")
        expect(page.get_by_role("button", name="Make carol admin")).to_be_visible()
    finally:
        context.close()
    assert page.errors == []
