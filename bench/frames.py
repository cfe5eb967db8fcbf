"""Stream frames that carry their answer, against frames that are hints, in one run.

Run: ``python -m bench frames``. Needs Debian's chromium and Playwright (the dev extra).

A log of ``CHATS`` conversations, each with a customer message and ``OUTBOUND`` replies
(sent, so Meta may report on them); a real ``crm serve`` (one worker); ``TABS`` signed-in
inbox tabs in one headless chromium, each with a different chat open. For ``SECONDS``
Meta's statuses (delivered, then read) arrive at ``RATE`` a second, ten to a signed
webhook, spread over every chat; meanwhile, every ``MARK_EVERY`` seconds, a customer
writes to one of the open chats. Measured in the steady state (after ``WARMUP`` s):

* requests per delivered event per tab: every ``GET /api/...`` the tabs make (the stream
  and presence signals aside), over the events their EventSources received;
* webhook to screen: from the customer webhook's 200 to its text in the tab showing
  that chat (the page's clock, same machine), p50/p99;
* the server's CPU time per second of wall time (``/proc/<pid>/stat``).

The same run with ``CRM_STREAM_FRAMES=hints`` (frames are the events alone and each
tab fetches the chat, and the open thread, again) gives the ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.inbox import CHROMIUM, SECRET, sign_in, signed_webhook, start_crm
from bench.processes import free_port, stop
from bench.stats import percentile, table

CHATS = 200
OUTBOUND = int(os.environ.get("CRM_BENCH_FRAMES_OUTBOUND", "40"))
TABS = int(os.environ.get("CRM_BENCH_FRAMES_TABS", "20"))
RATE = int(os.environ.get("CRM_BENCH_FRAMES_RATE", "500"))
SECONDS = float(os.environ.get("CRM_BENCH_FRAMES_SECONDS", "20"))
WARMUP = 3.0
MARK_EVERY = 0.25
PER_WEBHOOK = 10
REQUESTS_TARGET, LATENCY_TARGET_MS = 0.05, 100

PROBE = """
(() => {
  window.__events = 0;
  window.__seen = {};
  window.__want = [];
  new MutationObserver(() => {
    const thread = document.querySelector('#messages');
    if (!thread) return;
    const text = thread.textContent;
    for (const want of window.__want) {
      if (!(want in window.__seen) && text.includes(want)) {
        window.__seen[want] = performance.timeOrigin + performance.now();
      }
    }
  }).observe(document, {childList: true, subtree: true, characterData: true});
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(...args) {
      super(...args);
      for (const type of ['message.status', 'message.received']) {
        this.addEventListener(type, () => { window.__events += 1; });
      }
    }
  };
})();
"""


def phone_of(i: int) -> str:
    return f"4917{i:08d}"


def seed(db: Path) -> None:
    from crm.events import EventStore
    from crm.events.messages import MessageEchoed, MessageReceived, chat_stream
    from crm.projections import default_projector

    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        for i in range(CHATS):
            phone = phone_of(i)
            batch = [MessageReceived(
                phone=phone, wamid=f"wamid.in.{i}", message_type="text",
                text=f"Hello, is the kayak free on Saturday? #{i}",
                profile_name=f"Customer {i:03d}",
            ).new(chat_stream(phone), actor="meta", idempotency_key=f"wa:wamid.in.{i}",
                  occurred_at=now)]
            batch += [MessageEchoed(
                phone=phone, wamid=f"wamid.out.{i}.{k}", message_type="text",
                text=f"Reply {k}: yes, from 9:00",
            ).new(chat_stream(phone), actor="meta", idempotency_key=f"wa:wamid.out.{i}.{k}",
                  occurred_at=now) for k in range(OUTBOUND)]
            store.record(batch)
    finally:
        store.close()


def statuses() -> list[tuple[str, str]]:
    """(wamid, status): every reply delivered, then read, spread over the chats."""
    return [(f"wamid.out.{i}.{k}", state) for k in range(OUTBOUND)
            for state in ("delivered", "read") for i in range(CHATS)]


def status_webhook(batch: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    from crm.whatsapp import sign

    now = str(int(time.time()))
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID"},
            "statuses": [{"id": wamid, "status": state, "timestamp": now,
                          "recipient_id": phone_of(int(wamid.split(".")[2]))}
                         for wamid, state in batch]}}]}]}).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Feeder(threading.Thread):
    """Meta's statuses at ``RATE`` a second, ten to a webhook, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.sent = 0
        self.late = 0
        self.failed = 0

    def run(self) -> None:
        queue = statuses()
        interval = PER_WEBHOOK / RATE
        with httpx.Client(base_url=self.url, timeout=30) as http:
            due = time.monotonic()
            for start in range(0, len(queue), PER_WEBHOOK):
                if self.stop.is_set():
                    return
                body, headers = status_webhook(queue[start:start + PER_WEBHOOK])
                try:  # a slow answer on a saturated machine must not stop the load
                    answer = http.post("/webhook/whatsapp", content=body, headers=headers)
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if answer.status_code != 200:
                    self.failed += 1
                    continue
                self.sent += PER_WEBHOOK
                due += interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # pacing the load, not synchronising a test
                else:
                    self.late += 1


def measure(browser, mode: str, template: Path, tmp: Path) -> dict[str, Any]:
    data = tmp / f"data-{mode}"
    data.mkdir(mode=0o700)
    shutil.copy(template, data / "crm.db")
    port = free_port()
    process = start_crm(data, port, CRM_STREAM_FRAMES=mode, CRM_STREAMS_PER_AGENT="100")
    url = f"http://127.0.0.1:{port}"
    requests = {"count": 0, "counting": False}

    def watch(request) -> None:
        path = request.url.split("?", 1)[0]
        if (requests["counting"] and request.method == "GET" and "/api/" in path
                and not path.endswith("/api/stream")):
            requests["count"] += 1

    # A browser holds at most 6 connections to one host per profile, and each tab's
    # stream keeps one: each tab gets a context of its own (the same signed-in session),
    # as tabs on several agents' machines would.
    signed = browser.new_context()
    sign_in(signed, url)
    session = signed.storage_state()
    signed.close()
    contexts = []
    try:
        pages = []
        for _ in range(TABS):
            context = browser.new_context(storage_state=session)
            context.add_init_script(PROBE)
            context.on("request", watch)
            contexts.append(context)
            pages.append(context.new_page())
        for k, page in enumerate(pages):
            page.goto(f"{url}/#/chat/{phone_of(k)}")
        for page in pages:
            page.wait_for_selector("#messages li.msg")
        feeder = Feeder(url)
        feeder.start()
        time.sleep(WARMUP)  # let the load reach its steady state before counting
        events_before = sum(p.evaluate("window.__events") for p in pages)
        cpu_before, sent_before = cpu_seconds(process.pid), feeder.sent
        wall_before = time.monotonic()
        requests["counting"] = True
        latencies: list[float] = []
        marks: list[tuple[int, str, float]] = []
        with httpx.Client(base_url=url, timeout=10) as http:
            n = 0
            end = time.monotonic() + SECONDS
            while time.monotonic() < end:
                k = n % TABS
                marker = f"mark-{mode}-{n}-{time.time_ns()}"
                pages[k].evaluate("(m) => { window.__want.push(m); }", marker)
                body, headers = signed_webhook(phone_of(k), f"Customer note {marker}")
                assert http.post("/webhook/whatsapp", content=body,
                                 headers=headers).status_code == 200
                marks.append((k, marker, time.time() * 1000))
                n += 1
                time.sleep(MARK_EVERY)  # pacing, as above
        requests["counting"] = False
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(process.pid) - cpu_before
        delivered = sum(p.evaluate("window.__events") for p in pages) - events_before
        sent = feeder.sent - sent_before
        feeder.stop.set()
        feeder.join(30)
        for k, marker, posted in marks:
            seen = pages[k].wait_for_function(
                "(m) => window.__seen[m]", arg=marker, timeout=30000).json_value()
            latencies.append(seen - posted)
        return {"requests": requests["count"], "delivered": delivered, "wall": wall,
                "cpu": cpu, "latencies": latencies, "sent": sent, "late": feeder.late,
                "failed": feeder.failed}
    finally:
        for context in contexts:
            context.close()
        stop(process)


def run() -> str:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return f"## Stream frames (browser)\n\nSkipped: no chromium at `{CHROMIUM}`."
    with tempfile.TemporaryDirectory(prefix="crm-bench-frames-") as tmp_name:
        tmp = Path(tmp_name)
        template = tmp / "seed.db"
        seed(template)
        results: dict[str, dict[str, Any]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, env={
                **os.environ, "XDG_CONFIG_HOME": str(tmp / "xdg"),
                "XDG_CACHE_HOME": str(tmp / "xdg")})
            for mode in ("rows", "hints"):
                print(f"frames: {mode}", file=sys.stderr, flush=True)
                results[mode] = measure(browser, mode, template, tmp)
            browser.close()
    return report(results)


def report(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    figures = {}
    for mode, r in results.items():
        per_event = r["requests"] / max(1, r["delivered"])
        p50, p99 = percentile(r["latencies"], 0.5), percentile(r["latencies"], 0.99)
        cpu = r["cpu"] / r["wall"]
        figures[mode] = (per_event, p99, cpu)
        label = ("rows (frames carry their answer)" if mode == "rows"
                 else "hints (`CRM_STREAM_FRAMES=hints`, as before)")
        rows.append([label, f"{r['sent'] / r['wall']:,.0f}/s"
                     + (f" ({r['failed']} webhooks failed)" if r["failed"] else ""),
                     f"{r['delivered']:,}",
                     f"{r['requests']:,}", f"{per_event:.3f}", f"{p50:.0f}", f"{p99:.0f}",
                     f"{cpu:.2f}"])
    rows_per, rows_p99, rows_cpu = figures["rows"]
    hints_per, hints_p99, hints_cpu = figures["hints"]
    ratio = (f"hints / rows: requests per event {hints_per / max(rows_per, 1e-9):,.0f}x"
             if rows_per else f"hints: {hints_per:.2f} requests per event, rows: none")
    return "\n".join([
        "## Stream frames: rows against hints (`python -m bench frames`)",
        "",
        f"{TABS} inbox tabs (headless chromium, a context each), each with one of {CHATS} chats "
        f"open; Meta's statuses at {RATE}/s ({PER_WEBHOOK} per signed webhook) over every chat, "
        f"a customer message to an open chat every {MARK_EVERY} s; {SECONDS:.0f} s measured after "
        f"{WARMUP:.0f} s of warm-up; one `crm serve` worker. Requests: the tabs' `GET /api/...` "
        "(stream and presence aside); delivered: events the tabs' EventSources received; "
        "latency: customer webhook's 200 to its text in the open thread; CPU: the server "
        "process's user+system seconds per second.",
        "",
        table(["frames", "statuses sent", "events delivered (all tabs)", "requests",
               "requests per event per tab", "p50 ms", "p99 ms", "server CPU s/s"], rows),
        "",
        f"Targets: requests per delivered event per tab under {REQUESTS_TARGET}: "
        f"{'met' if rows_per < REQUESTS_TARGET else 'NOT met'} ({rows_per:.3f}); webhook-to-screen "
        f"p99 under {LATENCY_TARGET_MS} ms: {'met' if rows_p99 < LATENCY_TARGET_MS else 'NOT met'} "
        f"({rows_p99:.0f} ms; hints {hints_p99:.0f} ms). {ratio}; server CPU "
        f"{rows_cpu:.2f} s/s against {hints_cpu:.2f} s/s "
        f"({rows_cpu / max(hints_cpu, 1e-9):.2f} of it).",
    ])
