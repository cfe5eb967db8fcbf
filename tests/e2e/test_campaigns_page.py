"""The Campaigns page in a real browser: create a campaign with a preview and a CSV,
start it, and watch its funnel fill over the stream without a reload; pause, resume;
then let an agent run campaigns from the Agents page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.campaign_support import add_templates, import_customers
from tests.conftest import LiveServer, admin_headers
from tests.sandbox_support import GraphSandbox

ROWS = [(f"8526500{i:04d}", f"Member {i}", "summer", "kayak") for i in range(24)]


def test_create_start_and_watch_the_funnel_live(agent_page, live: LiveServer,
                                                sandbox: GraphSandbox, tmp_path: Path) -> None:
    with live.client(headers=admin_headers(live)) as http:
        add_templates(sandbox, http)
    import_customers(live, tmp_path, ROWS)
    page = agent_page()
    page.get_by_role("link", name="Campaigns").click()
    expect(page).to_have_url(re.compile(r"/campaigns$"))
    page.get_by_label("Name", exact=True).fill("summer prices")
    page.locator("#c-template").select_option("season_prices|en")
    page.locator("[data-variable='2']").fill("{{attr:Season}}")
    page.locator("#c-phones").fill("\n".join(f"+{p}" for p, *_ in ROWS[:20]))
    expect(page.locator("#c-preview")).to_have_text(
        "Hi Member 0, the summer prices are out. Reply STOP to opt out.")
    sheet = tmp_path / "more.csv"
    sheet.write_text("Phone\n" + "".join(f"+{p}\n" for p, *_ in ROWS[20:]))
    page.locator("#c-csv").set_input_files(str(sheet))
    expect(page.locator("#c-csv-size")).to_contain_text("4 phones")
    page.locator("#c-rate").fill("5")
    page.get_by_role("button", name="Create campaign").click()

    detail = page.locator("#campaign-detail")
    expect(detail).to_be_visible()
    expect(page.locator("#campaign-state")).to_have_text("draft")
    expect(page.locator("#funnel-audience")).to_have_text("24")
    expect(page.locator("#funnel-chart canvas")).to_have_count(1)
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#campaign-state")).to_have_text("running")
    # The funnel moves while the campaign runs (at 5/s it takes about five seconds).
    expect(page.locator("#funnel-sent")).not_to_have_text("0", timeout=5000)
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#campaign-state")).to_have_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#funnel-read")).to_have_text("24", timeout=20000)
    expect(page.locator("#campaign-state")).to_have_text("done")
    expect(page.locator("#campaigns-list tr", has_text="summer prices")
           .locator(".campaign-funnel")).to_have_text("24 → 24 → 24 → 24 → 0")
    assert page.evaluate("window.notReloaded") is True

    # An admin lets an ordinary agent run campaigns from the Agents page.
    with live.client(headers=admin_headers(live)) as http:
        assert http.post("/api/agents", json={"name": "dora", "password": "a-long-password-1"}
                         ).status_code == 201
    page.goto("/agents")
    page.get_by_role("button", name="Let dora run campaigns").click()
    expect(page.locator('#agents-list tr[data-agent="dora"]')).to_contain_text("Agent, campaigns")
    with live.client(headers=admin_headers(live)) as http:
        assert http.get("/api/agents/dora/permissions").json() == {"permissions": ["campaigns"]}
    assert page.errors == []
