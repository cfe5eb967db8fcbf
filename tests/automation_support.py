"""Helpers of the automation tests: the server's fake clock, rules, and a barrier.

The clock is ``CRM_TEST_CLOCK_FILE`` (``crm.automation.clock``): the test writes epoch
seconds and the worker reads them at its next look. Customers write through the fake
Graph server with Meta's timestamp set to the fake "now", so windows and waiting
periods are on the same clock.

Absence is proven with a barrier, never a sleep: the worker handles customer messages
in log order, so once a later customer's keyword reply is in the log, every earlier
message has been looked at; two barriers in a row also cover one pass of the timed
triggers (chat.waiting, window.closing) made with the clock as it is now.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, wait_until
from tests.sandbox_support import GraphSandbox, events

#: Monday 2026-12-07 00:00 UTC: the fake calendar's first day.
MONDAY = datetime(2026, 12, 7, tzinfo=UTC).timestamp()
HOUR = 3600.0
BARRIER_WORD = "barrierping"
BARRIER_RULE = {"name": "Barrier", "when": "message.received",
                "if": [{"keywords": [BARRIER_WORD]}], "then": [{"reply": {"text": "pong"}}]}

_phones = itertools.count(1)


def new_phone(prefix: str = "4479") -> str:
    return f"{prefix}{os.getpid() % 1000:03d}{next(_phones):05d}"


class Clock:
    def __init__(self, path: Path, now: float = MONDAY) -> None:
        self.path = path
        self.set(now)

    def set(self, now: float) -> float:
        partial = self.path.with_suffix(".tmp")
        partial.write_text(repr(now))
        partial.replace(self.path)
        self.now = now
        return now


def says(sandbox: GraphSandbox, http: httpx.Client, phone: str, text: str,
         at: float) -> None:
    """A customer's message, stamped ``at`` by Meta; returns once the inbox has it."""
    def count() -> int:
        return len(http.get("/api/messages", params={"phone": phone, "limit": 200}
                            ).json().get("messages", []))

    before = count()
    sandbox.state.customer_says(phone, f"Customer {phone[-4:]}", text, at=at)
    wait_until(lambda: count() > before, message=f"{phone}'s message to reach the inbox")


def thread(http: httpx.Client, phone: str) -> list[dict[str, Any]]:
    return http.get("/api/messages", params={"phone": phone, "limit": 200}).json().get(
        "messages", [])


def automatic(http: httpx.Client, phone: str, rule_id: str | None = None
              ) -> list[dict[str, Any]]:
    """The chat's automatic messages (of one rule, if given), oldest first."""
    return [m for m in thread(http, phone) if m.get("automation")
            and (rule_id is None or m["automation"]["rule_id"] == rule_id)]


def wait_automatic(http: httpx.Client, phone: str, rule_id: str, count: int = 1
                   ) -> list[dict[str, Any]]:
    return wait_until(lambda: (found := automatic(http, phone, rule_id))
                      and len(found) >= count and found,
                      message=f"{count} automatic message(s) of {rule_id} to {phone}")


def save_rule(http: httpx.Client, rule: dict[str, Any], rule_id: str | None = None
              ) -> dict[str, Any]:
    answer = (http.put(f"/api/automations/{rule_id}", json=rule) if rule_id
              else http.post("/api/automations", json=rule))
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["automation"]


def barrier(sandbox: GraphSandbox, http: httpx.Client, barrier_id: str, at: float,
            times: int = 2) -> None:
    """Wait until the worker has looked at everything recorded so far (see above)."""
    for _ in range(times):
        phone = new_phone("4470")
        says(sandbox, http, phone, f"{BARRIER_WORD}", at)
        wait_automatic(http, phone, barrier_id)


def fired(server: LiveServer, rule_id: str, phone: str) -> list[dict[str, Any]]:
    return [e for e in events(server, "automation.fired")
            if e["data"]["rule_id"] == rule_id and e["data"]["phone"] == phone]


def reply(http: httpx.Client, phone: str, text: str = "An agent answers.") -> None:
    answer = http.post("/api/send", json={"phone": phone, "text": text})
    assert answer.status_code == 202, answer.text
