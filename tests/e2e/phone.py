"""Helpers of the phone, app and accessibility browser tests: what "fits a phone" means."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.conftest import ROOT

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 800}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Elements wider than the screen, and scrollers that scroll sideways: none may exist.
_OVERFLOW = """() => {
  // Inside a box that clips it (truncated text), within the screen: nothing sticks out.
  const clipped = (el, width) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') {
        const box = up.getBoundingClientRect();
        return box.right <= width + 1 && box.left >= -1;
      }
    }
    return false;
  };
  const width = document.documentElement.clientWidth, found = [];
  if (document.documentElement.scrollWidth > width) found.push('the page scrolls sideways');
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const name = el.id || el.tagName + '.' + String(el.className).split(' ').slice(0, 2).join('.');
    if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      found.push(name + ' scrolls sideways');
    if (box.width > 1 && (box.right > width + 1 || box.left < -1) && style.position !== 'fixed'
        && !clipped(el, width)) found.push(name + ' sticks out');
  }
  return found;
}"""

# Every control one can press, on screen, smaller than 44 by 44 CSS pixels.
_SMALL = """() => [...document.querySelectorAll(
    'button, a[href], select, summary, input:not([type=hidden]), textarea, [role=button]')]
  .filter((el) => el.getClientRects().length && !el.closest('.sr-only') && !el.matches('.sr-only'))
  // A check box is pressed through its label: the label is the target.
  .map((el) => el.matches('[type=checkbox], [type=radio]') && el.closest('label') || el)
  .map((el) => [el, el.getBoundingClientRect()])
  .filter(([, b]) => b.bottom > 0 && b.top < innerHeight && (b.width < 44 || b.height < 44))
  .map(([el, b]) => `${el.id || el.textContent.trim().slice(0, 30)} ${b.width}x${b.height}`)"""


def overflow(page: Page) -> list[str]:
    return page.evaluate(_OVERFLOW)


def small_targets(page: Page) -> list[str]:
    return page.evaluate(_SMALL)


def in_view(page: Page, selector: str) -> bool:
    """The element is wholly inside the (visual) viewport."""
    return page.evaluate("""(selector) => {
      const box = document.querySelector(selector).getBoundingClientRect();
      const view = window.visualViewport || {width: innerWidth, height: innerHeight};
      return box.width > 0 && box.top >= 0 && box.left >= 0
        && box.bottom <= view.height + 0.5 && box.right <= view.width + 0.5;
    }""", selector)


def axe_violations(page: Page, source: Path = AXE) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Through the DevTools protocol, so the page's Content-Security-Policy (which
        # allows no inline script) stays as it is for the rest of the check.
        page.evaluate(source.read_text() + "\n;undefined")
    found = page.evaluate("""async () => {
      const result = await axe.run(document, {resultTypes: ['violations']});
      return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
        .map((v) => `${v.id} (${v.impact}): `
          + v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | '));
    }""")
    return found
