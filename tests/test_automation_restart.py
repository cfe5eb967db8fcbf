"""Automation across processes and restarts: two server workers never send one
automatic message twice; a restart at the start of business hours catches up only on
what still makes sense; ``crm replay`` sends nothing.

One data folder for the module, served by ``--workers 2`` first, then stopped and
started (with one worker, to save time) by the tests in order.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from crm.config import Settings
from crm.events import EventStore
from crm.projections import default_projector
from tests.automation_support import (
    BARRIER_RULE,
    HOUR,
    MONDAY,
    Clock,
    automatic,
    barrier,
    new_phone,
    save_rule,
    wait_automatic,
)
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.factories import queued, received
from tests.sandbox_support import GraphSandbox, events, start_crm


class Deployment:
    """A server that the tests stop and start again on the same data folder."""

    def __init__(self, data: Path, sandbox: GraphSandbox, clock: Clock) -> None:
        self.data, self.sandbox, self.clock = data, sandbox, clock
        self.server: LiveServer | None = None
        self.barrier_id = self.prices_id = ""

    def start(self, workers: int = 1) -> LiveServer:
        self.server = start_crm(self.data, self.sandbox, "--workers", str(workers),
                                CRM_TEST_CLOCK_FILE=str(self.clock.path),
                                CRM_BUSINESS_HOURS="Mon-Fri 09:00-18:00")
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            assert self.server.stop() == 0
            self.server = None

    def http(self) -> httpx.Client:
        assert self.server is not None
        return self.server.client(headers=admin_headers(self.server))

    def record_while_down(self, *batch: object) -> None:
        """Events appended by another process while no server runs (as the CLI does)."""
        assert self.server is None
        store = EventStore(self.data / "crm.db", default_projector(Settings(data_dir=self.data)))
        try:
            store.record(list(batch))  # type: ignore[arg-type]
        finally:
            store.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    sandbox = GraphSandbox()
    clock = Clock(tmp_path_factory.mktemp("clock") / "now", MONDAY + 7 * HOUR)
    data = tmp_path_factory.mktemp("automation-restart") / "data"
    data.mkdir()
    found = Deployment(data, sandbox, clock)
    found.start(workers=2)
    with found.http() as http:  # the rules every test here relies on
        found.barrier_id = save_rule(http, BARRIER_RULE)["id"]
        save_rule(http, {"enabled": True}, "builtin.welcome")
        save_rule(http, {"enabled": True}, "builtin.away")
        found.prices_id = save_rule(http, {
            "name": "Prices", "when": "message.received", "if": [{"keywords": ["price"]}],
            "then": [{"reply": {"text": "See our price list."}}]})["id"]
    yield found
    found.stop()
    sandbox.close()


def sent_to(sandbox: GraphSandbox, phone: str) -> list[dict]:
    with sandbox.state.lock:
        return [m for m in sandbox.state.messages if m["to"] == phone]


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_two_workers_never_send_one_automatic_message_twice(deployment: Deployment) -> None:
    sandbox = deployment.sandbox
    barrier_id, prices = deployment.barrier_id, deployment.prices_id
    with deployment.http() as http:
        now = deployment.clock.set(MONDAY + 7 * HOUR)  # Monday 07:00: closed
        customers = [new_phone() for _ in range(12)]
        for phone in customers:  # delivered by the sandbox to either worker
            sandbox.state.customer_says(phone, "Someone", "price please", at=now)
        for phone in customers:
            for rule_id in ("builtin.welcome", "builtin.away", prices):
                wait_automatic(http, phone, rule_id)
        barrier(sandbox, http, barrier_id, now)
        for phone in customers:
            rules = [m["automation"]["rule_id"] for m in automatic(http, phone)]
            assert sorted(rules) == sorted(["builtin.welcome", "builtin.away", prices])
            wait_until(lambda phone=phone: len(sent_to(sandbox, phone)) == 3)
        keys = [e["key"] for e in events(deployment.server, "automation.fired")]  # type: ignore[arg-type]
        assert len(keys) == len(set(keys))


def test_a_restart_across_the_opening_hour_catches_up_only_what_still_makes_sense(
        deployment: Deployment) -> None:
    clock = deployment.clock
    deployment.stop()
    still_closed, opened, answered = new_phone(), new_phone(), new_phone()
    # 08:50, while no server runs: the customer wrote before opening time.
    deployment.record_while_down(received(still_closed, "hello?", at=at(MONDAY + 8 * HOUR + 3000),
                                          wamid=f"wamid.down.{still_closed}"))
    clock.set(MONDAY + 8 * HOUR + 58 * 60)  # back at 08:58: still closed
    deployment.start()
    with deployment.http() as http:
        wait_automatic(http, still_closed, "builtin.away")
    deployment.stop()
    deployment.record_while_down(
        received(opened, "hi", at=at(MONDAY + 8 * HOUR + 59 * 60), wamid=f"wamid.down.{opened}"),
        received(answered, "hi", at=at(MONDAY + 8 * HOUR + 55 * 60),
                 wamid=f"wamid.down.{answered}"),
        queued("m-answered-while-down", answered, "An agent was quicker", agent="admin"))
    clock.set(MONDAY + 9 * HOUR + 60)  # back at 09:01: open
    deployment.start()
    with deployment.http() as http:
        barrier(deployment.sandbox, http, deployment.barrier_id, clock.now)
        # Written at 08:59 but read at 09:01: "we are closed" would be wrong now.
        assert automatic(http, opened, "builtin.away") == []
        # An agent answered before the worker looked: nothing to add.
        assert automatic(http, answered, "builtin.away") == []
        assert len(automatic(http, still_closed, "builtin.away")) == 1


def test_replay_sends_nothing(deployment: Deployment) -> None:
    server = deployment.server or deployment.start()
    deployment.stop()
    before = events(server)
    with deployment.sandbox.state.lock:
        sent = len(deployment.sandbox.state.messages)
    for args in (["replay"], ["replay", "--check"]):
        done = subprocess.run([sys.executable, "-m", "crm.cli", *args], env=server.env,
                              cwd=str(deployment.data.parent), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert events(server) == before  # the log did not grow: nothing fired, nothing queued
    restarted = deployment.start()
    with deployment.http() as http:
        barrier(deployment.sandbox, http, deployment.barrier_id, deployment.clock.now)
    seen = {e["data"].get("phone") for e in before}
    fired = [e for e in events(restarted, "automation.fired")
             if e["position"] > before[-1]["position"]]
    assert fired and all(e["data"]["phone"] not in seen for e in fired)  # the barriers' only
    with deployment.sandbox.state.lock:
        again = deployment.sandbox.state.messages[sent:]
    assert again and all(m["to"] not in seen for m in again)
