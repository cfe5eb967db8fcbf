"""Campaigns: sustained sends/s of a campaign, agents' replies meanwhile, server memory.

Run: ``python -m bench campaigns``. The sandbox (the fake Graph API, answering at once
and posting signed statuses back) in its own process, ``crm serve`` (1 worker,
``CRM_SEND_RATE=1000``: Meta's upgraded tier) and this process as the client.

* A campaign of ``CRM_BENCH_CAMPAIGN_SIZE`` recipients (default 100,000; shrink it for
  a quick look): sends/s from its first ``message.sent`` to its last, beside a bare
  httpx loop posting the same body to the same sandbox at the sender's concurrency
  (the ceiling, measured in the same run).
* While it runs, an agent replies in 10 open chats, 5 replies a second: p50/p99 from
  just before the POST to the commit of its ``message.sent``.
* The server's resident memory (``VmRSS``), sampled every half second.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.processes import stop
from bench.send import CONTROL, _raw, _start
from bench.stats import percentile, table
from crm.events import parse_time

SIZE = int(os.environ.get("CRM_BENCH_CAMPAIGN_SIZE", "100000"))
CHATS = 10
REPLY_RATE = 5
CONCURRENCY = 16


def _phone(n: int) -> str:
    return f"8529{n:07d}"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sent(db: Path, campaign: str | None) -> dict[str, float]:
    """``message_id -> recorded_at`` of the ``message.sent`` of campaign (or agent) sends."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        queued = {mid for (mid,) in conn.execute(
            "SELECT json_extract(data, '$.message_id') FROM events WHERE type = "
            "'message.queued' AND coalesce(json_extract(data, '$.campaign'), '') = ?",
            (campaign or "",))}
        rows = conn.execute("SELECT json_extract(data, '$.message_id'), recorded_at "
                            "FROM events WHERE type = 'message.sent'").fetchall()
    finally:
        conn.close()
    return {mid: parse_time(at).timestamp() for mid, at in rows if mid in queued}


async def _replies(url: str, token: str, until: threading.Event) -> dict[str, float]:
    started: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as http:
        n = 0
        origin = time.perf_counter()
        while not until.is_set():
            delay = origin + n / REPLY_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            begin = time.time()
            answer = await http.post("/api/send", json={"phone": _phone(10**6 + n % CHATS),
                                                        "text": f"reply {n}"})
            started[answer.json()["message"]["id"]] = begin
            n += 1
    return started


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        sandbox, sandbox_url, server, url, token = _start(data_dir, CRM_SEND_RATE="1000")
        headers = {"Authorization": f"Bearer {token}"}
        db = data_dir / "crm.db"
        try:
            for n in range(CHATS):
                httpx.post(f"{sandbox_url}/_sandbox/inbound", json={
                    "from": _phone(10**6 + n), "name": f"Customer {n}", "text": "hi"},
                    headers=CONTROL).raise_for_status()
            httpx.post(url + "/api/templates/refresh", headers=headers).raise_for_status()
            _, raw_rate = asyncio.run(_raw(sandbox_url, min(SIZE, 5000), CONCURRENCY))
            csv = "Phone\n" + "".join(f"+{_phone(n)}\n" for n in range(SIZE))
            upload = httpx.post(url + "/api/campaigns/csv", content=csv.encode(),
                                headers={**headers, "Content-Type": "text/csv"}, timeout=120)
            upload.raise_for_status()
            made = httpx.post(url + "/api/campaigns", headers=headers, timeout=120, json={
                "name": "bench", "template": {"name": "hello_world", "language": "en_US"},
                "audience": {"csv": upload.json()["id"]}})
            made.raise_for_status()
            cid = made.json()["id"]
            rss = [_rss_mb(server.pid)]
            httpx.post(f"{url}/api/campaigns/{cid}/start", headers=headers).raise_for_status()
            stop_replies = threading.Event()
            replies: dict[str, float] = {}
            replier = threading.Thread(target=lambda: replies.update(
                asyncio.run(_replies(url, token, stop_replies))))
            replier.start()
            deadline = time.monotonic() + max(60, SIZE / 50)
            while True:
                state = httpx.get(f"{url}/api/campaigns/{cid}", headers=headers,
                                  timeout=30).json()["campaign"]
                rss.append(_rss_mb(server.pid))
                counts = state["counts"]
                if state["state"] == "done" and counts["in_flight"] == 0:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            stop_replies.set()
            replier.join()
            time.sleep(1.0)
            sent = sorted(_sent(db, cid).values())
            agent_sent = _sent(db, None)
        finally:
            stop(server)
            stop(sandbox)

    rate = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 else 0.0
    latencies = [agent_sent[m] - t for m, t in replies.items() if m in agent_sent]
    rows = [
        [f"campaign, {SIZE:,} recipients", len(sent), "", "", f"{rate:.0f}",
         f"{rate / raw_rate:.2f} of the bare loop"],
        [f"bare httpx loop, {CONCURRENCY} at a time", min(SIZE, 5000), "", "",
         f"{raw_rate:.0f}", "ceiling"],
        ["agents' replies during the campaign, POST -> message.sent", len(latencies),
         f"{percentile(latencies, 0.5) * 1000:.1f}" if latencies else "",
         f"{percentile(latencies, 0.99) * 1000:.1f}" if latencies else "", "", ""],
    ]
    return "\n".join([
        "## Campaigns (`bench/campaigns.py`)",
        "",
        "A campaign of one template to every row of an uploaded CSV, `crm serve` (1 "
        "worker, `CRM_SEND_RATE=1000`) sending to the sandbox with the status webhooks "
        "coming back; meanwhile an agent replies in 10 open chats at 5 replies/s.",
        "",
        table(["what", "n", "p50 ms", "p99 ms", "sends/s", "vs the bare loop"], rows),
        "",
        f"Server memory (VmRSS): {rss[0]:.0f} MB before the start, at most {max(rss):.0f} "
        f"MB while sending ({len(replies) - len(latencies)} replies not sent by the end).",
    ])


if __name__ == "__main__":
    print(run())
