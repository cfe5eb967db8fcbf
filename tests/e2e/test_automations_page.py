"""The Automations page: an admin creates a keyword rule, a customer writes a matching
message, and the thread shows the automatic reply marked with the rule that sent it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.e2e.inbox import bubble, chat_row, customer_writes, text


def test_a_keyword_rule_made_on_the_page_answers_and_is_marked(agent_page,
                                                              live: LiveServer) -> None:
    page = agent_page()
    page.get_by_role("link", name="Automations").click()
    expect(page).to_have_url(re.compile("/automations$"))
    # The built-in rules are listed, off until enabled.
    away = page.locator('#rules-list tr[data-rule="builtin.away"]')
    expect(away).to_contain_text("Away message")
    expect(away.locator(".state")).to_have_text("Off")
    page.get_by_role("button", name="Turn on Welcome message").click()
    expect(page.locator('#rules-list tr[data-rule="builtin.welcome"] .state')).to_have_text("On")
    page.get_by_role("button", name="Turn off Welcome message").click()
    expect(page.locator('#rules-list tr[data-rule="builtin.welcome"] .state')).to_have_text("Off")

    page.get_by_label("Rule name").fill("Opening hours")
    page.get_by_label("Keywords (comma-separated, any language)").fill("hours, 营业时间")
    page.get_by_label("Reply", exact=True).fill("We are open 9 to 6, {{name}}.")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#automations-message")).to_have_text("Opening hours is on.")
    row = page.locator("#rules-list tr").filter(has_text="Opening hours")
    expect(row).to_contain_text("says hours or 营业时间")
    expect(row.locator(".state")).to_have_text("On")

    phone = "4915112345678"
    customer_writes(live, phone, "Greta", text(phone, "What are your opening hours?"))
    page.goto("/")
    chat_row(page, phone).get_by_role("link").click()
    answer = bubble(page, "We are open 9 to 6, Greta.")
    expect(answer).to_be_visible(timeout=10000)
    expect(answer.locator(".automatic")).to_have_text(
        "Automatic: sent by the Opening hours rule")
    expect(answer.locator(".status")).to_have_attribute("data-status", re.compile(
        "sent|delivered|read"), timeout=10000)
    assert page.errors == []
