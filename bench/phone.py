"""The inbox on a phone: first render on a 390x844 touch viewport with the CPU slowed 4x,
and the static shell's transfer size.

Run: ``python -m bench phone`` (``CRM_BENCH_PHONE_CHATS`` for a smaller log while
trying it; the figures in BENCHMARKS.md are with 10,000 chats). Needs Debian's chromium
(``CHROMIUM_PATH``) and Playwright for Python (the dev extra).

* First render: the log of ``bench.inbox`` (one message per chat), a real ``crm serve``,
  a signed-in headless chromium emulating a phone (390x844, touch, mobile) whose CPU is
  throttled 4x through the DevTools protocol (``Emulation.setCPUThrottlingRate``). From
  the start of the navigation to the first page of chats (50 rows) in the DOM, as in
  ``bench.inbox``. Cold: a new browser context (no cache, no service worker yet); warm:
  reloads (the service worker registered, files revalidated).
* Shell size: the inbox's HTML, its stylesheet and every script it loads, as crm serves
  them and gzip-compressed (level 6, as nginx's ``gzip on`` sends them); the app's icons
  and manifest are not part of the first render and are left out.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import tempfile
from pathlib import Path

import httpx

from bench.inbox import CHROMIUM, PROBE, seed, sign_in, start_crm
from bench.processes import free_port, stop
from bench.stats import percentile, table

CHATS = int(os.environ.get("CRM_BENCH_PHONE_CHATS", "10000"))
COLD, WARM = 3, 8
RATE = 4
TARGET_MS, SHELL_TARGET_KB = 1500, 100
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3}


def first_render(browser, url: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"cold": [], "warm": []}
    signed = browser.new_context()
    sign_in(signed, url)
    session = signed.storage_state()
    signed.close()
    for _ in range(COLD):
        context = browser.new_context(storage_state=session, **PHONE)
        context.add_init_script(PROBE)
        page = context.new_page()
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": RATE})
        page.goto(url + "/")
        page.wait_for_function("() => window.__firstRender !== undefined", timeout=60000)
        found["cold"].append(page.evaluate("window.__firstRender"))
        for _ in range(WARM):
            page.goto(url + "/")
            page.wait_for_function("() => window.__firstRender !== undefined", timeout=60000)
            found["warm"].append(page.evaluate("window.__firstRender"))
        context.close()
    return found


def shell_size(url: str, cookies: dict[str, str]) -> list[tuple[str, int, int]]:
    """(file, bytes as served, gzip bytes) for the page and everything it loads first."""
    with httpx.Client(base_url=url, cookies=cookies, timeout=10) as http:
        html = http.get("/").text
        paths = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html)
        files = [("/", html.encode())]
        seen = set()
        for path in paths:
            plain = path.split("?")[0]
            if plain in seen:
                continue
            seen.add(plain)
            answer = http.get(path)
            answer.raise_for_status()
            files.append((plain, answer.content))
    return [(name, len(body), len(gzip.compress(body, 6))) for name, body in files]


def run() -> str:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return f"## Inbox on a phone (browser)\n\nSkipped: no chromium at `{CHROMIUM}`."
    with tempfile.TemporaryDirectory(prefix="crm-bench-phone-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        seconds = seed(data / "crm.db", CHATS)
        print(f"seeded {CHATS} chats in {seconds:.1f} s", file=sys.stderr)
        port = free_port()
        process = start_crm(data, port)
        url = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, env={
                    **os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "xdg"),
                    "XDG_CACHE_HOME": str(Path(tmp) / "xdg")})
                render = first_render(browser, url)
                context = browser.new_context()
                sign_in(context, url)
                cookies = {c["name"]: c["value"] for c in context.cookies()}
                context.close()
                browser.close()
            files = shell_size(url, cookies)
        finally:
            stop(process)
    raw, packed = sum(f[1] for f in files), sum(f[2] for f in files)
    worst = max(render["cold"] + render["warm"])

    def row(name: str, values: list[float]) -> list[str]:
        return [name, str(len(values)), f"{percentile(values, 0.5):.0f}",
                f"{percentile(values, 0.9):.0f}", f"{max(values):.0f}"]

    return "\n".join([
        "## Inbox on a phone (browser)",
        "",
        f"Headless Debian chromium emulating a 390x844 touch phone with the CPU throttled "
        f"{RATE}x (DevTools `Emulation.setCPUThrottlingRate`), against one `crm serve` "
        f"worker on 127.0.0.1 with {CHATS:,} chats in the log (seeding took {seconds:.1f} s). "
        "Command: `python -m bench phone`. From the navigation's start to the first 50 rows "
        "in the DOM.",
        "",
        table(["measure", "n", "p50 ms", "p90 ms", "max ms"], [
            row("first render, cold (new context)", render["cold"]),
            row("first render, warm (reload, service worker)", render["warm"]),
        ]),
        "",
        f"Target under {TARGET_MS} ms: {'met' if worst < TARGET_MS else 'MISSED'} "
        f"(slowest load {worst:.0f} ms).",
        "",
        f"The static shell: the inbox's HTML, stylesheet and its {len(files) - 2} scripts, "
        f"{raw / 1024:.1f} KB as served and **{packed / 1024:.1f} KB gzip-compressed** "
        f"(target under {SHELL_TARGET_KB} KB: "
        f"{'met' if packed / 1024 < SHELL_TARGET_KB else 'MISSED'}). Largest files:",
        "",
        table(["file", "bytes", "gzip bytes"],
              [[name, str(size), str(small)] for name, size, small in
               sorted(files, key=lambda f: -f[2])[:6]]),
    ])


if __name__ == "__main__":
    print(run())
