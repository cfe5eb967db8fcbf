"""A client that stops reading slows nobody else down and falls back to the log."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import admin_headers, start_server, wait_until
from tests.sse_client import Appender, StreamClient

EVENTS = 150
PAD = 32_000  # bytes per event: 150 of them (4.8 MB) fill every buffer between us


def test_a_stalled_client_does_not_delay_a_healthy_one(data_dir: Path) -> None:
    # Poll often: these appends come from the test process, not through the server.
    server = start_server(data_dir, CRM_STREAM_POLL="0.01", CRM_STREAM_QUEUE="32")
    appender = Appender(server.db_path)
    stalled = healthy = None
    try:
        headers = admin_headers(server)
        start = appender.store.last_position()
        stalled = StreamClient(server.port, headers, {"after": str(start)}, read=False,
                               rcvbuf=4096)
        healthy = StreamClient(server.port, headers, {"after": str(start)})
        assert healthy.wait_response() == 200
        committed: dict[int, float] = {}
        for _ in range(EVENTS):
            [position] = appender.append(1, tag="big", size=PAD)
            committed[position] = time.monotonic()
            event = healthy.next_event(timeout=5)  # one at a time: latency, not throughput
            assert event.position == position
            committed[position] = event.at - committed[position]
        latencies = sorted(committed.values())
        # "Not delayed by more than 100 ms": from commit to receipt, with a 10 ms poll.
        assert latencies[len(latencies) // 2] < 0.05, latencies
        assert latencies[-3] < 0.1, latencies  # tolerate two scheduler hiccups of a shared box

        health = httpx.get(server.url + "/healthz", headers=headers, timeout=5).json()
        assert health["stream_overflows"] >= 1, "the stalled stream overflowed its queue"
        assert health["open_streams"] == 2

        # When it reads again it gets everything, in order, from the log.
        stalled.start_reading()
        assert stalled.wait_response() == 200
        received = [e.position for e in stalled.events(EVENTS, timeout=30)]
        assert received == sorted(committed)
    finally:
        appender.close()
        for client in (stalled, healthy):
            if client is not None:
                client.close()
        server.stop()
    wait_until(lambda: server.process.poll() is not None, 5)
