"""Signed webhook POSTs end to end through a real ``crm serve``, beside a trivial endpoint.

Run: ``python -m bench webhook``. Two servers on 127.0.0.1, one process each: ``crm
serve`` (1 worker) and a Quart app under hypercorn whose POST handler reads the body
and answers an empty 200. The load generator is a third process: a minimal HTTP/1.1
client on raw asyncio streams (keep-alive, 32 connections), because a full client
library would itself be the bottleneck on this 2-core machine. Each webhook carries
one text message with its own wamid, signed like Meta signs it; its 200 means the
event and its projections are committed (``synchronous=FULL``). Afterwards the log
is counted: every acknowledged webhook must be in it.

The paced runs send 100 requests/s on a fixed schedule; latency is measured from the
scheduled moment, so a stall is charged to every request queued behind it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.processes import free_port, stop, wait_ready
from bench.stats import percentile, table

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-app-secret"
CONNECTIONS = 32
#: Measured seconds per endpoint, split into rounds that alternate the two endpoints so
#: the shared machine's changing background load falls on both alike.
SECONDS = float(os.environ.get("CRM_BENCH_WEBHOOK_SECONDS", "9"))
ROUNDS = 3
WARMUP = 0.75
PACED_RATE = 100
PACED_SECONDS = float(os.environ.get("CRM_BENCH_WEBHOOK_PACED_SECONDS", "10"))
CUSTOMERS = 1000
TARGET_RATE, TARGET_RATIO, TARGET_P99_MS = 1000, 0.35, 100


# -- the servers -----------------------------------------------------------------------

def serve_trivial(port: int) -> None:
    """A Quart app whose POST does nothing but read the body, under hypercorn."""
    from hypercorn.asyncio import serve
    from quart import Quart, request

    from crm.server import hypercorn_config

    app = Quart("trivial")

    @app.post("/noop")
    async def noop() -> tuple[str, int]:
        await request.get_data()
        return "", 200

    @app.get("/ready")
    async def ready() -> str:
        return "ok"

    asyncio.run(serve(app, hypercorn_config("127.0.0.1", port)))


# -- the load generator (runs in its own process) ------------------------------------

def _webhook_request(path: str, n: int, tag: str) -> bytes:
    import hashlib
    import hmac

    phone = f"4477009{n % CUSTOMERS:05d}"
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "WABA1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
            "contacts": [{"profile": {"name": f"Customer {n % CUSTOMERS}"}, "wa_id": phone}],
            "messages": [{"from": phone, "id": f"wamid.bench.{tag}.{n}",
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": f"Is the kayak free on Saturday? #{n}"}}]}}]}]}
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Hub-Signature-256: sha256={signature}\r\n\r\n")
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked responses are not expected here")
    if length:
        await reader.readexactly(length)
    return status


async def _closed_loop(port: int, path: str, tag: str, seconds: float) -> dict[str, Any]:
    """As fast as ``CONNECTIONS`` keep-alive connections allow, for ``seconds``."""
    started = time.perf_counter()
    measure_from, stop_at = started + WARMUP, started + WARMUP + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**9))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < stop_at:
                request = _webhook_request(path, next(counter), tag)
                sent = time.perf_counter()
                status = await _exchange(reader, writer, request)
                done = time.perf_counter()
                statuses[status] = statuses.get(status, 0) + 1
                if now >= measure_from and done <= stop_at:
                    latencies.append(done - sent)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return {"count": len(latencies), "seconds": seconds, "latencies": latencies,
            "statuses": statuses}


async def _paced(port: int, path: str, tag: str, rate: float, seconds: float,
                 connections: int = 16) -> dict[str, Any]:
    """``rate`` requests per second on a fixed schedule, whatever the answers' speed."""
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                n, due = await queue.get()
                if n < 0:
                    return
                status = await _exchange(reader, writer, _webhook_request(path, n, tag))
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(time.perf_counter() - due)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.2
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((n, due))
    for _ in workers:
        queue.put_nowait((-1, 0.0))
    await asyncio.gather(*workers)
    return {"count": len(latencies), "seconds": seconds, "latencies": latencies,
            "statuses": statuses}


def _load_main(args: list[str]) -> None:
    mode, port, path, tag = args[0], int(args[1]), args[2], args[3]
    if mode == "closed":
        result = asyncio.run(_closed_loop(port, path, tag, float(args[4])))
    else:
        result = asyncio.run(_paced(port, path, tag, float(args[4]), float(args[5])))
    print(json.dumps(result))


def _load(*args: object) -> dict[str, Any]:
    """Run the load generator in its own process and return what it measured."""
    done = subprocess.run([sys.executable, "-m", "bench.webhook", "load", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


# -- the report ----------------------------------------------------------------------

def _pool(rounds: list[dict]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for result in rounds:
        for code, n in result["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    return {"count": sum(r["count"] for r in rounds),
            "seconds": sum(r["seconds"] for r in rounds),
            "latencies": [x for r in rounds for x in r["latencies"]],
            "statuses": statuses,
            "rates": [r["count"] / r["seconds"] for r in rounds]}


def _ms(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000


def _spread(result: dict) -> str:
    return " / ".join(f"{rate:,.0f}" for rate in result["rates"])


def _count_messages(db_path: Path) -> int:
    from crm.events.store import open_connection

    conn = open_connection(db_path, readonly=True)
    try:
        return conn.execute(
            "SELECT count(*) FROM events WHERE type = 'message.received'").fetchone()[0]
    finally:
        conn.close()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="crm-bench-webhook-") as tmp:
        data_dir = Path(tmp) / "data"
        crm_port, trivial_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CRM_", "WHATSAPP_", "GOOGLE_"))}
        env.update(CRM_DATA_DIR=str(data_dir), WHATSAPP_APP_SECRET=SECRET,
                   CRM_LOG_LEVEL="warning")
        crm = subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "serve", "--host", "127.0.0.1", "--port",
             str(crm_port), "--workers", "1"], cwd=tmp, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        trivial = subprocess.Popen(
            [sys.executable, "-m", "bench.webhook", "trivial", str(trivial_port)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{crm_port}/healthz", crm)
            wait_ready(f"http://127.0.0.1:{trivial_port}/ready", trivial)
            raws, hooks = [], []
            for r in range(ROUNDS):
                raws.append(_load("closed", trivial_port, "/noop", f"raw{r}", SECONDS / ROUNDS))
                hooks.append(_load("closed", crm_port, "/webhook/whatsapp", f"max{r}",
                                   SECONDS / ROUNDS))
            raw, hook = _pool(raws), _pool(hooks)
            raw_paced = _load("paced", trivial_port, "/noop", "rawp", PACED_RATE,
                              PACED_SECONDS)
            hook_paced = _load("paced", crm_port, "/webhook/whatsapp", "paced", PACED_RATE,
                               PACED_SECONDS)
        finally:
            stop(crm)
            stop(trivial)
        acknowledged = hook["statuses"].get("200", 0) + hook_paced["statuses"].get("200", 0)
        in_log = _count_messages(data_dir / "crm.db")
    return _report(raw, hook, raw_paced, hook_paced, acknowledged, in_log)


def _report(raw: dict, hook: dict, raw_paced: dict, hook_paced: dict, acknowledged: int,
            in_log: int) -> str:
    raw_rate = raw["count"] / raw["seconds"]
    hook_rate = hook["count"] / hook["seconds"]
    ratio = hook_rate / raw_rate if raw_rate else float("nan")
    p99_paced = _ms(hook_paced["latencies"], 0.99)
    refused = {k: v for k, v in hook["statuses"].items() if k != "200"}

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows = [
        ["trivial Quart POST, reads the body, empty 200 (ceiling)", f"{raw_rate:,.0f}/s",
         _spread(raw), f"{_ms(raw['latencies'], 0.5):.1f}",
         f"{_ms(raw['latencies'], 0.99):.1f}", "1.00"],
        ["signed webhook, 1 text message, committed before the 200", f"{hook_rate:,.0f}/s",
         _spread(hook), f"{_ms(hook['latencies'], 0.5):.1f}",
         f"{_ms(hook['latencies'], 0.99):.1f}", f"{ratio:.2f}"],
    ]
    paced_rows = [
        ["trivial Quart POST", f"{_ms(raw_paced['latencies'], 0.5):.1f}",
         f"{_ms(raw_paced['latencies'], 0.99):.1f}", f"{max(raw_paced['latencies']) * 1000:.1f}"],
        ["signed webhook", f"{_ms(hook_paced['latencies'], 0.5):.1f}", f"{p99_paced:.1f}",
         f"{max(hook_paced['latencies']) * 1000:.1f}"],
    ]
    return "\n".join([
        "## Webhook (`python -m bench webhook`)",
        "",
        f"`crm serve` with 1 worker and a trivial Quart app, each under hypercorn on "
        f"127.0.0.1; the load generator is a separate process ({CONNECTIONS} keep-alive "
        f"connections; {ROUNDS} alternating rounds of {SECONDS / ROUNDS:.0f} s per endpoint, "
        f"each after {WARMUP} s of warm-up). Each webhook "
        "is one text message with its own wamid, signed with HMAC-SHA256; the answer comes "
        "after the event and its projections are committed with `synchronous=FULL`.",
        "",
        table(["endpoint", "rate", "rounds", "p50 ms", "p99 ms", "ratio to ceiling"], rows),
        "",
        f"Paced at {PACED_RATE} requests/s for {PACED_SECONDS:.0f} s (latency from the "
        "scheduled send time):",
        "",
        table(["endpoint", "p50 ms", "p99 ms", "max ms"], paced_rows),
        "",
        f"Targets: at least {TARGET_RATE:,} webhooks/s: {verdict(hook_rate >= TARGET_RATE)}; "
        f"at least {TARGET_RATIO:.0%} of the trivial endpoint: "
        f"{verdict(ratio >= TARGET_RATIO)}; p99 under {TARGET_P99_MS} ms at "
        f"{PACED_RATE}/s: {verdict(p99_paced < TARGET_P99_MS)}.",
        f"Every acknowledged webhook is in the log: {acknowledged:,} answered 200, "
        f"{in_log:,} `message.received` events"
        + (f"; refused: {refused}" if refused else "") + ".",
    ])


if __name__ == "__main__":
    if sys.argv[1:2] == ["trivial"]:
        serve_trivial(int(sys.argv[2]))
    elif sys.argv[1:2] == ["load"]:
        _load_main(sys.argv[2:])
    else:
        print(run())
