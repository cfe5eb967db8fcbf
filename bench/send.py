"""Sending: from ``POST /api/send`` to ``message.sent`` in the log, against the sandbox.

Run: ``python -m bench send``. Three processes on 127.0.0.1: the sandbox (``python -m
crm.sandbox``, the fake Graph API, posting signed ``sent``/``delivered``/``read``
webhooks back 0.2 s apart, as Meta does), ``crm serve`` (1 worker) configured with an
access token pointing at it, and this process as the client. 100 customers write
first, so every chat's 24-hour window is open.

* Latency, paced: 20 sends/s spread over the 100 chats; each is timed from just before
  its POST to the ``recorded_at`` of its ``message.sent`` (the commit time of the
  event that carries Meta's wamid), so the time includes the API's append, the
  sender waking, ``message.dispatching`` committed, the Graph request and the commit
  of ``message.sent``.
* Sustained: 32 clients send as fast as they can to the 100 chats for a fixed time;
  sends/s is the rate of ``message.sent`` commits from the first POST to the last one.
* The raw ceiling, in the same run: the sandbox's own round trip (the same send body
  posted straight to it) and its rate with the sender's concurrency.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.processes import free_port, stop
from bench.stats import percentile, table
from crm.events import parse_time

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-app-secret"
CHATS = 100
PACED_RATE, PACED_SECONDS = 20, float(os.environ.get("CRM_BENCH_SEND_PACED_SECONDS", "10"))
LOAD_SECONDS = float(os.environ.get("CRM_BENCH_SEND_SECONDS", "10"))
CLIENTS = 32
PNID, WABA = "100000000000001", "200000000000002"
CONTROL_TOKEN = secrets.token_urlsafe(16)
CONTROL = {"Authorization": f"Bearer {CONTROL_TOKEN}"}


def _phone(n: int) -> str:
    return f"8529700{n % CHATS:04d}"


def _start(data_dir: Path, **settings: str) -> tuple[subprocess.Popen, str, subprocess.Popen,
                                                    str, str]:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "crm.sandbox", "--port", "0", "--no-auto-reply"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "CRM_SANDBOX_SECRET": SECRET,
             "CRM_SANDBOX_CONTROL_TOKEN": CONTROL_TOKEN})
    assert sandbox.stdout is not None
    sandbox_url = json.loads(sandbox.stdout.readline())["url"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "WHATSAPP_"))}
    env.update({"CRM_DATA_DIR": str(data_dir), "CRM_ADMIN_PASSWORD": "bench-admin-password",
                "CRM_LOG_LEVEL": "warning", "CRM_SANDBOX": "off",
                "WHATSAPP_ACCESS_TOKEN": "bench-token", "WHATSAPP_APP_SECRET": SECRET,
                "WHATSAPP_GRAPH_URL": f"{sandbox_url}/v25.0",
                "WHATSAPP_PHONE_NUMBER_ID": PNID, "WHATSAPP_WABA_ID": WABA, **settings})
    server = subprocess.Popen(
        [sys.executable, "-m", "crm.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=data_dir.parent, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("crm serve did not start")
        time.sleep(0.05)
    httpx.post(f"{sandbox_url}/_sandbox/behaviour",
               json={"webhook_url": url + "/webhook/whatsapp"}, headers=CONTROL).raise_for_status()
    from crm.auth.local import create_token
    from crm.config import Settings

    token, _ = create_token(Settings(data_dir=data_dir), "admin", "bench")
    return sandbox, sandbox_url, server, url, token


def _sent_times(db: Path) -> dict[str, float]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT json_extract(data, '$.message_id'), recorded_at "
                            "FROM events WHERE type = 'message.sent'").fetchall()
    finally:
        conn.close()
    return {mid: parse_time(at).timestamp() for mid, at in rows}


def _wait_sent(db: Path, ids: list[str], timeout: float = 60) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        sent = _sent_times(db)
        if all(i in sent for i in ids) or time.monotonic() > deadline:
            return sent
        time.sleep(0.1)


async def _paced(url: str, token: str) -> tuple[dict[str, float], list[float]]:
    """``PACED_RATE`` sends per second; returns message id -> POST start, POST times."""
    started: dict[str, float] = {}
    answered: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=16)) as http:
        async def one(n: int) -> None:
            begin, clock = time.time(), time.perf_counter()
            answer = await http.post("/api/send", json={"phone": _phone(n), "text": f"p{n}"})
            answered.append(time.perf_counter() - clock)
            started[answer.json()["message"]["id"]] = begin

        tasks = []
        origin = time.perf_counter()
        for n in range(int(PACED_RATE * PACED_SECONDS)):
            delay = origin + n / PACED_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return started, answered


async def _closed(url: str, token: str, seconds: float) -> tuple[float, list[str]]:
    ids: list[str] = []
    first = time.time()
    stop_at = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=CLIENTS)) as http:
        async def client(c: int) -> None:
            n = c
            while time.perf_counter() < stop_at:
                answer = await http.post("/api/send", json={"phone": _phone(n), "text": f"l{n}"})
                ids.append(answer.json()["message"]["id"])
                n += CLIENTS

        await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    return first, ids


async def _raw(sandbox_url: str, count: int, concurrency: int) -> tuple[list[float], float]:
    """The sandbox alone: the send body crm posts, ``count`` times; (latencies, rate)."""
    latencies: list[float] = []
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": "text",
            "to": "+85297000000", "text": {"body": "raw", "preview_url": False}}
    async with httpx.AsyncClient(base_url=f"{sandbox_url}/v25.0",
                                 headers={"Authorization": "Bearer raw"},
                                 limits=httpx.Limits(max_connections=concurrency)) as http:
        counter = iter(range(count))

        async def worker() -> None:
            for _ in counter:
                begin = time.perf_counter()
                (await http.post(f"/{PNID}/messages", json=body)).raise_for_status()
                latencies.append(time.perf_counter() - begin)

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    return latencies, count / elapsed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        sandbox, sandbox_url, server, url, token = _start(data_dir)
        try:
            for n in range(CHATS):
                httpx.post(f"{sandbox_url}/_sandbox/inbound", json={
                    "from": _phone(n), "name": f"Customer {n}", "text": "hi"},
                    headers=CONTROL).raise_for_status()
            headers = {"Authorization": f"Bearer {token}"}
            deadline = time.monotonic() + 30
            while len(httpx.get(url + "/api/chats", params={"limit": 200},
                                headers=headers).json()["chats"]) < CHATS:
                if time.monotonic() > deadline:
                    raise RuntimeError("the customers' messages did not arrive")
                time.sleep(0.1)

            raw_one, one_rate = asyncio.run(_raw(sandbox_url, 300, 1))
            _, many_rate = asyncio.run(_raw(sandbox_url, 3000, 16))
            raw_rate = max(one_rate, many_rate)
            before = httpx.get(f"{sandbox_url}/_sandbox/state", headers=CONTROL).json()["messages"]

            started, answered = asyncio.run(_paced(url, token))
            sent = _wait_sent(data_dir / "crm.db", list(started))
            latencies = [sent[m] - t for m, t in started.items() if m in sent]

            first, ids = asyncio.run(_closed(url, token, LOAD_SECONDS))
            sent = _wait_sent(data_dir / "crm.db", ids, timeout=90)
            done = [sent[m] for m in ids if m in sent]
            rate = len(done) / (max(done) - first) if done else 0.0
            posted = len(ids) / LOAD_SECONDS
            at_meta = httpx.get(f"{sandbox_url}/_sandbox/state",
                                headers=CONTROL).json()["messages"] - before
        finally:
            stop(server)
            stop(sandbox)

    missing = len(started) + len(ids) - len(latencies) - len(done)
    rows = [
        ["POST /api/send -> message.sent, paced 20/s", len(latencies),
         _ms(percentile(latencies, 0.5)), _ms(percentile(latencies, 0.99)), "",
         f"{percentile(latencies, 0.5) / percentile(raw_one, 0.5):.1f}x the sandbox's RTT"],
        ["POST /api/send answer (202), paced", len(answered), _ms(percentile(answered, 0.5)),
         _ms(percentile(answered, 0.99)), "", ""],
        ["sustained, 100 chats, 32 clients", len(done), "", "", f"{rate:.0f}",
         f"{rate / raw_rate:.2f} of the sandbox's best rate"],
        ["the sandbox alone: one send at a time", len(raw_one), _ms(percentile(raw_one, 0.5)),
         _ms(percentile(raw_one, 0.99)), f"{one_rate:.0f}", "ceiling"],
        ["the sandbox alone: 16 at a time", 3000, "", "", f"{many_rate:.0f}", "ceiling"],
    ]
    return "\n".join([
        "## Sending (`bench/send.py`)",
        "",
        "`crm serve` (1 worker) sending to the sandbox (the fake Graph API, a separate "
        "process) with the status webhooks (sent, delivered, read) coming back signed; "
        "the client is a third process. Latency runs from just before the POST to the "
        "commit of `message.sent` (the event that carries Meta's wamid): the API's append, "
        "the sender's `message.dispatching` commit, the Graph request and the "
        "`message.sent` commit, all with `synchronous=FULL`.",
        "",
        table(["what", "n", "p50 ms", "p99 ms", "sends/s", "vs the raw ceiling"], rows),
        "",
        f"During the sustained run the API accepted {posted:.0f} sends/s (they queue in the "
        f"log; the sender drains them in order per chat, 16 chats at a time). Every send "
        f"reached the sandbox exactly once: {at_meta} accepted there for "
        f"{len(started) + len(ids)} sent; {missing} not sent by the deadline.",
    ])


if __name__ == "__main__":
    print(run())
