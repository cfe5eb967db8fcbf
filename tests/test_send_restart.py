"""Nothing sent twice, nothing lost: a server killed mid-send, and several workers."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.jobs.lease import IDLE_TTL
from tests.conftest import admin_headers, wait_until
from tests.sandbox_support import (
    GraphSandbox,
    customer_writes,
    events,
    send_text,
    start_crm,
    wait_status,
)


@pytest.fixture
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


def test_after_sigkill_queued_messages_are_sent_once_and_in_flight_ones_are_unknown(
        data_dir: Path, sandbox: GraphSandbox):
    server = start_crm(data_dir, sandbox)
    a, b = "85292000001", "85292000002"
    try:
        customer_writes(sandbox, server, a)
        customer_writes(sandbox, server, b)
        # Meta hangs: the first message of each chat is in flight, the rest wait behind.
        sandbox.behave(slow={"seconds": 4, "times": 2})
        with server.client(headers=admin_headers(server)) as http:
            a1, a2, a3 = (send_text(http, a, f"a{n}").json()["message"]["id"] for n in (1, 2, 3))
            b1 = send_text(http, b, "b1").json()["message"]["id"]
        wait_until(lambda: sorted(sandbox.state.holding) == sorted([a1, b1]),
                   message="both chats' first message to be in flight")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    finally:
        server.stop()

    server = start_crm(data_dir, sandbox)
    try:
        with server.client(headers=admin_headers(server)) as http:
            wait_status(http, a, a3, "sent")
            for in_flight, phone in ((a1, a), (b1, b)):
                shown = wait_status(http, phone, in_flight, "unknown")
                assert "may or may not" in shown["error"]["message"]
            # Queued messages: sent once each, in order. In flight: never sent again.
            wait_until(lambda: len(sandbox.sent(a1)) == 1 and len(sandbox.sent(b1)) == 1, 8,
                       message="the hung requests to finish at Meta")
            assert [len(sandbox.sent(m)) for m in (a1, a2, a3, b1)] == [1, 1, 1, 1]
            assert [len(sandbox.requests(m)) for m in (a1, a2, a3, b1)] == [1, 1, 1, 1]
            accepted = [r["message_id"] for r in sandbox.requests(endpoint="messages")
                        if r["outcome"] == "accepted" and r["message_id"] in (a2, a3)]
            assert accepted == [a2, a3]
            # An agent decides: retrying the unknown one sends it again.
            assert http.post(f"/api/messages/{b1}/retry").status_code == 202
            wait_status(http, b, b1, "sent")
        assert len(sandbox.sent(b1)) == 2
        [unknown] = events(server, "message.unknown", a1)
        assert unknown["actor"] == "agent:admin"
    finally:
        server.stop()


def test_with_two_workers_one_sender_sends_each_message_once(data_dir: Path,
                                                             sandbox: GraphSandbox):
    server = start_crm(data_dir, sandbox, "--workers", "2")
    chats = [f"8529300{n:04d}" for n in range(6)]
    try:
        for phone in chats:
            customer_writes(sandbox, server, phone)
        ids = []
        # Separate connections: the kernel spreads them over both workers.
        for n in range(24):
            phone = chats[n % len(chats)]
            with server.client(headers=admin_headers(server)) as http:
                ids.append((phone, send_text(http, phone, f"m{n}").json()["message"]["id"]))
        with server.client(headers=admin_headers(server)) as http:
            for phone, message_id in ids:
                wait_status(http, phone, message_id, "sent")
        assert all(len(sandbox.sent(m)) == 1 for _, m in ids)
        conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
        holders = conn.execute("SELECT holder FROM sender_lease WHERE name = 'sender'"
                               ).fetchall()
        conn.close()
        assert len(holders) == 1
        assert len(events(server, "message.dispatching")) == len(ids)
    finally:
        assert server.stop() == 0


def test_a_killed_idle_sender_is_replaced_within_15_seconds(data_dir: Path,
                                                            sandbox: GraphSandbox):
    """An idle holder's lease is long (it renews rarely, to write nothing); its death is
    still noticed at once by the other worker, so a reply waits seconds, not minutes."""
    server = start_crm(data_dir, sandbox, "--workers", "2")
    phone = "85293009999"
    try:
        customer_writes(sandbox, server, phone)

        def holder() -> tuple[int, float] | None:
            conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
            try:
                return conn.execute("SELECT pid, expires FROM sender_lease "
                                    "WHERE name = 'sender'").fetchone()
            finally:
                conn.close()

        pid, _ = wait_until(lambda: (h := holder()) and h[1] > time.time() + IDLE_TTL / 2 and h,
                            timeout=20, message="the sender's lease to rest")
        os.kill(pid, signal.SIGKILL)
        started = time.monotonic()
        with server.client(headers=admin_headers(server)) as http:
            message_id = send_text(http, phone, "after the kill").json()["message"]["id"]
            wait_status(http, phone, message_id, "sent", timeout=15)
        assert time.monotonic() - started < 15
        assert len(sandbox.sent(message_id)) == 1
    finally:
        server.stop()
