"""The sign-in redirect's answers, read by a real browser's URL parser: every
Location crm gives for a nasty ``next`` stays on crm's origin."""

from __future__ import annotations

from playwright.sync_api import Page

from crm.api.login import safe_next
from tests.redirect_cases import CASES


def test_every_location_stays_on_this_origin_in_chromium(page: Page) -> None:
    page.set_content("<p>url parser</p>")
    locations = sorted({safe_next(target) for target, _ in CASES})
    off_site = page.evaluate(
        """locations => locations.filter(loc =>
            new URL(loc, "http://crm.test/login?next=x").origin !== "http://crm.test")""",
        locations)
    assert off_site == []
    # And the table is not toothless: what crm refuses, a browser would follow away.
    refused = [target for target, expected in CASES
               if expected == "/" and target.startswith(("/\t", "/\\", "//", " //"))]
    away = page.evaluate(
        """targets => targets.filter(t =>
            new URL(t, "http://crm.test/login").origin !== "http://crm.test")""", refused)
    assert away == refused
