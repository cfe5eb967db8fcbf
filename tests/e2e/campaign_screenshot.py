"""Writes ``docs/campaigns.png``: a campaign's page with its funnel, as the README shows it.

Run: ``make screenshot`` (``python -m tests.e2e.campaign_screenshot [OUT.png]``). A real
``crm serve`` against the fake Graph API on 127.0.0.1: customers from a CSV, a campaign
of a marketing template sent to them (a few opted out, one without the attribute, one
refused by Meta), some replies, photographed in headless chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.campaign_support import add_templates, create, import_customers, wait_for
from tests.conftest import ADMIN_PASSWORD, ROOT, admin_headers
from tests.e2e.inbox import sign_in
from tests.e2e.screenshot import CHROMIUM
from tests.sandbox_support import GraphSandbox, customer_writes, start_crm

#: Customers of the kayak club; one has no Season, so the campaign skips them.
ROWS = [(f"85261{i:06d}", f"Paddler {i}", "" if i == 5 else "summer", "kayak")
        for i in range(240)]


def main(out: Path) -> None:
    sandbox = GraphSandbox(status_delay=0.05)
    with tempfile.TemporaryDirectory(prefix="crm-screenshot-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        live = start_crm(data, sandbox, CRM_SEND_RATE="120")
        try:
            rows = ROWS
            import_customers(live, Path(tmp), rows)
            for phone, *_ in rows[10:16]:
                customer_writes(sandbox, live, phone, "STOP")
            with live.client(headers=admin_headers(live)) as http:
                add_templates(sandbox, http)
                sandbox.behave(fail={"code": 131049, "to": rows[20][0]})
                cid = create(http, "Summer prices for the kayak club",
                             audience={"attributes": {"Club": "kayak"}})
                http.post(f"/api/campaigns/{cid}/start")
                wait_for(http, cid, lambda c: c["state"] == "done"
                         and c["counts"]["read"] >= c["counts"]["sent"] - 2, 60)
                for phone, *_ in rows[30:70]:
                    sandbox.state.customer_says(phone, None, "Is the double kayak included?")
                wait_for(http, cid, lambda c: c["counts"]["replied"] >= 40, 30)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                context = browser.new_context(base_url=live.url,
                                              viewport={"width": 1280, "height": 820})
                page = context.new_page()
                sign_in(page, "admin", ADMIN_PASSWORD)
                page.goto(f"/campaigns#{cid}")
                expect(page.locator("#funnel-replied")).to_have_text("40")
                expect(page.locator("#funnel-chart canvas")).to_have_count(1)
                page.mouse.move(0, 0)
                page.screenshot(path=str(out))
                browser.close()
        finally:
            live.stop()
            sandbox.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "campaigns.png")
