"""Live stream: delivery latency from append to receipt, and memory per open stream.

One ``crm serve`` worker; the clients run in separate processes (asyncio protocols, see
``stream_clients.py``). Events reach the log two ways, both measured:

* ``webhook``: signed WhatsApp webhooks POSTed to the server, which appends them
  itself: its tailer is woken by the local commit (the single-worker path).
* ``poll``: appended by this process through ``EventStore``, as another worker or a CLI
  command would: the server's tailer finds them by polling ``PRAGMA data_version``.

Delivery latency is measured from each event's ``recorded_at`` (stamped by the writer
just before the commit) to its receipt, end-to-end latency from just before the POST or
append. The same clients against a bare asyncio broadcast (``stream_ceiling.py``) give
the raw ceiling of this machine in the same run.

Run: ``python -m bench stream``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import stream_ceiling, stream_clients
from bench.stats import percentile, table
from crm.config import Settings
from crm.events import EventStore, NewEvent
from crm.projections import default_projector
from tests.conftest import admin_headers, start_server

CLIENT_PROCESSES = 2
#: Seconds of events per case: longer at 10/s, so a p99 rests on more than a few events.
SECONDS = {10: 8.0, 100: 4.0}
#: streams -> events per second; the targets are 1,000 x 10 and 500 x 100.
CASES = {1000: (10, 100), 500: (100,), 100: (10, 100)}
TARGETS = ((1000, 10), (500, 100))
TARGET_MS = 100
SECRET = "bench-app-secret"

Send = Callable[[int, float], int]


@dataclass
class Result:
    """Delivery: recorded (just before the commit) to receipt. End to end: sent to receipt."""

    streams: int
    rate: int
    delivered: float
    p50: float
    p99: float
    worst: float
    end_p50: float
    end_p99: float
    cpu: float


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Clients:
    """Client processes, each holding its share of the streams."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(target=stream_clients.main, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def ask(self, *command: object) -> list:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def open(self, port: int, request: bytes, streams: int) -> int:
        share, extra = divmod(streams, len(self.pipes))
        for i, pipe in enumerate(self.pipes):
            pipe.send(("open", port, request, share + (1 if i < extra else 0)))
        return sum(pipe.recv() for pipe in self.pipes)

    def wait_for(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.ask("count")) < expected and time.monotonic() < deadline:
            time.sleep(0.05)

    def samples(self) -> tuple[array, array]:
        delivery, end_to_end = array("d"), array("d")
        for first, second in self.ask("report"):
            delivery.frombytes(first)
            end_to_end.frombytes(second)
        return delivery, end_to_end

    def exit(self) -> None:
        self.ask("exit")
        for process in self.processes:
            process.join(5)


def measure(clients: Clients, streams: int, rate: int, send: Send, pid: int) -> Result:
    """Send events at ``rate`` for ``SECONDS``; latency of every (stream, event) pair."""
    clients.ask("reset")
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    sent = send(rate, SECONDS[rate])
    clients.wait_for(sent * streams, 10)
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started)
    delivery, end_to_end = ([v * 1000 for v in values] for values in clients.samples())
    delivery.sort()
    return Result(streams, rate, len(delivery) / (sent * streams), percentile(delivery, 0.5),
                  percentile(delivery, 0.99), delivery[-1] if delivery else float("nan"),
                  percentile(end_to_end, 0.5), percentile(end_to_end, 0.99), cpu)


def paced(rate: int, seconds: float, one: Callable[[], None]) -> int:
    start = time.monotonic()
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        one()
    return total


def store_sender(store: EventStore) -> Send:
    def one() -> None:
        store.record([NewEvent(type="bench.tick", stream="bench",
                               data={"text": f"bench {time.time()}"})])

    return lambda rate, seconds: paced(rate, seconds, one)


def webhook_body() -> bytes:
    wamid = f"wamid.bench.{uuid.uuid4().hex}"
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "WABA1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": "15550002222"}],
            "messages": [{"from": "15550002222", "id": wamid, "timestamp": "1764000000",
                          "type": "text", "text": {"body": f"bench {time.time()}"}}],
        }}]}]}).encode()


async def _post_paced(url: str, rate: int, seconds: float) -> int:
    total = int(rate * seconds)
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 limits=httpx.Limits(max_connections=16)) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            body = webhook_body()  # stamped now, just before it is sent
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            answer = await client.post("/webhook/whatsapp", content=body, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": signature})
            answer.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(total)))
    return total


def webhook_sender(url: str) -> Send:
    return lambda rate, seconds: asyncio.run(_post_paced(url, rate, seconds))


def run_crm(clients: Clients, results: dict, memory: dict[str, float]) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="crm-bench-stream-")) / "data"
    data_dir.mkdir()
    # One admin token opens every stream: lift the per-agent limit (20 by default) above
    # the largest run, as a deployment with that many tabs of one agent would have to.
    server = start_server(data_dir, WHATSAPP_APP_SECRET=SECRET,
                          CRM_STREAMS_PER_AGENT=str(2 * max(CASES)))
    store = EventStore(server.db_path, default_projector())
    senders = {"webhook": webhook_sender(server.url), "poll": store_sender(store)}
    try:
        pid = server.process.pid
        request = stream_clients.request_bytes(server.port, "/api/stream", admin_headers(server))
        clients.open(server.port, request, 10)  # warm up: imports, pools, first frames
        for send in senders.values():
            send(20, 0.5)
        clients.ask("close")
        for streams, rates in CASES.items():
            before = rss(pid)
            opened = clients.open(server.port, request, streams)
            assert opened == streams, f"only {opened} of {streams} streams opened"
            time.sleep(0.5)
            if streams == max(CASES):
                memory["connected"] = (rss(pid) - before) / streams
            for rate in rates:
                for path, send in senders.items():
                    results[path, streams, rate] = measure(clients, streams, rate, send, pid)
            if streams == max(CASES):
                memory["after"] = (rss(pid) - before) / streams
            clients.ask("close")
    finally:
        store.close()
        server.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def run_ceiling(clients: Clients, results: dict, memory: dict[str, float]) -> None:
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=stream_ceiling.main, args=(theirs,), daemon=True)
    process.start()
    pid, port = mine.recv()

    def send(rate: int, seconds: float) -> int:
        mine.send(("run", rate, seconds))
        return mine.recv()

    try:
        request = stream_clients.request_bytes(port, "/", {})
        for streams, rates in CASES.items():
            before = rss(pid)
            assert clients.open(port, request, streams) == streams
            time.sleep(0.5)
            if streams == max(CASES):
                memory["connected"] = (rss(pid) - before) / streams
            for rate in rates:
                results["bare", streams, rate] = measure(clients, streams, rate, send, pid)
            clients.ask("close")
    finally:
        mine.send(("exit",))
        process.join(5)


def run() -> str:
    load_before = os.getloadavg()
    started = time.monotonic()
    clients = Clients(CLIENT_PROCESSES)
    results: dict[tuple[str, int, int], Result] = {}
    memory: dict[str, float] = {}
    bare_memory: dict[str, float] = {}
    try:
        run_crm(clients, results, memory)
        run_ceiling(clients, results, bare_memory)
    finally:
        clients.exit()
    elapsed = time.monotonic() - started
    return report(results, memory, bare_memory, elapsed, load_before, os.getloadavg())


def report(results: dict, memory: dict[str, float], bare_memory: dict[str, float],
           elapsed: float, load_before: tuple, load_after: tuple) -> str:
    rows = []
    for streams, rates in CASES.items():
        for rate in rates:
            bare = results["bare", streams, rate]
            for path in ("webhook", "poll"):
                r = results[path, streams, rate]
                verdict = ""
                if (streams, rate) in TARGETS:
                    verdict = "met" if r.p99 < TARGET_MS else "missed"
                rows.append([
                    f"{streams:,} x {rate}/s", path, f"{r.p50:.1f} / {r.p99:.1f}",
                    f"{r.worst:.0f}", f"{r.end_p50:.1f} / {r.end_p99:.1f}",
                    f"{r.delivered:.1%}", f"{r.cpu:.0%}", f"{bare.p50:.1f} / {bare.p99:.1f}",
                    f"{r.p99 / bare.p99:.1f}", verdict])
    latency = table(["streams x events", "path", "delivery p50 / p99 ms", "max ms",
                     "end to end p50 / p99 ms", "delivered", "server CPU",
                     "bare p50 / p99 ms", "p99 / bare p99", f"p99 < {TARGET_MS} ms"], rows)
    poll_ms = Settings.model_fields["stream_poll"].default * 1000
    return f"""## Live stream (`python -m bench stream`)

One `crm serve` worker; {CLIENT_PROCESSES} client processes (asyncio, raw HTTP/1.1) hold
the streams. Path `webhook`: signed WhatsApp webhooks POSTed to the server (16
connections, paced), so the server appends and its tailer wakes on its own commit.
Path `poll`: this process appends one event per transaction through `EventStore`, as
another worker or a CLI command would, and the server's tailer finds it by polling
`PRAGMA data_version` (every {poll_ms:.0f} ms, `CRM_STREAM_POLL`). Over every (stream,
event) pair ({SECONDS[10]:.0f} s at 10/s, {SECONDS[100]:.0f} s at 100/s): *delivery* runs
from the event's `recorded_at` (taken by the writer just before its commit, so the
fsync is included) to receipt at the client;
*end to end* from just before the POST or append, so it adds the webhook request and
any wait for the writer. "bare" is the raw ceiling: the same clients against a plain
asyncio server that encodes each event once and writes it to every socket (no SQLite,
no framework, no request per event). "server CPU" is the worker's CPU time per second
of wall time (one core = 100%). Targets are judged on delivery p99.

{latency}

Memory per open stream (server RSS delta / streams, {max(CASES):,} streams):
{memory['connected'] / 1024:.1f} KiB just connected, {memory['after'] / 1024:.1f} KiB
after the runs above (target < 100 KB); the bare server:
{bare_memory['connected'] / 1024:.1f} KiB.

Whole run {elapsed:.0f} s. Load average before {load_before[0]:.2f}, after
{load_after[0]:.2f} (a shared 2-core machine: other engineers' tests may have run).
"""
