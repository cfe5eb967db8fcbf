"""Automation against a real server, the fake Graph server and a fake clock: away
messages once per waiting period, a welcome once per customer however often Meta
delivers, keywords in any language, chat.waiting and window.closing, the daily cap.

One server for the module (business hours Mon-Fri 09:00-18:00 UTC, at most two
automatic messages per customer and day); each test has customers of its own and
turns off the rules it turned on.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest

from crm.sandbox import PHONE_NUMBER_ID
from tests import meta_payloads as meta
from tests.automation_support import (
    BARRIER_RULE,
    HOUR,
    MONDAY,
    Clock,
    automatic,
    barrier,
    fired,
    new_phone,
    reply,
    save_rule,
    says,
    thread,
    wait_automatic,
)
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import SECRET, GraphSandbox, start_crm

DAY = 24 * HOUR


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Clock:
    return Clock(tmp_path_factory.mktemp("clock") / "now")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sandbox: GraphSandbox,
         clock: Clock) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("automation") / "data"
    data.mkdir()
    server = start_crm(data, sandbox, CRM_TEST_CLOCK_FILE=str(clock.path),
                       CRM_BUSINESS_HOURS="Mon-Fri 09:00-18:00", CRM_TIMEZONE="UTC",
                       CRM_AUTOMATION_MAX_PER_DAY="2")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


@pytest.fixture(scope="module")
def barrier_id(http: httpx.Client) -> str:
    return save_rule(http, BARRIER_RULE)["id"]


@pytest.fixture
def rules(http: httpx.Client) -> Iterator[list[str]]:
    """Rule ids a test enabled: disabled again afterwards."""
    enabled: list[str] = []
    yield enabled
    for rule_id in enabled:
        save_rule(http, {"enabled": False}, rule_id)


def enable(http: httpx.Client, rules: list[str], rule: dict[str, Any] | None = None,
           rule_id: str | None = None) -> str:
    saved = save_rule(http, {**(rule or {}), "enabled": True}, rule_id)
    rules.append(saved["id"])
    return saved["id"]


def test_away_message_once_per_waiting_period(sandbox: GraphSandbox, http: httpx.Client,
                                              live: LiveServer, clock: Clock,
                                              barrier_id: str, rules: list[str]) -> None:
    listed = {r["id"]: r for r in http.get("/api/automations").json()["automations"]}
    assert listed["builtin.away"]["enabled"] is False  # built-ins are off until enabled
    away = enable(http, rules, rule_id="builtin.away")
    phone = new_phone()
    night = clock.set(MONDAY + 20 * HOUR)  # Monday 20:00: closed
    says(sandbox, http, phone, "Are you open?", night)
    first = wait_automatic(http, phone, away)[0]
    assert first["automation"] == {"rule_id": away, "name": "Away message", "version": 1}
    assert first["text"].startswith("Thank you for your message")
    wait_until(lambda: automatic(http, phone, away)[0]["status"] in ("sent", "delivered",
                                                                     "read"))
    # A second message in the same waiting period: no second away message.
    clock.set(night + 300)
    says(sandbox, http, phone, "Hello??", night + 300)
    barrier(sandbox, http, barrier_id, night + 300)
    assert len(automatic(http, phone, away)) == 1
    # An agent answers (the period ends); the next night the customer writes again.
    reply(http, phone)
    next_night = clock.set(MONDAY + DAY + 21 * HOUR)
    says(sandbox, http, phone, "Me again", next_night)
    assert len(wait_automatic(http, phone, away, 2)) == 2
    # Every action is an event by the rule, carrying its version.
    audit = fired(live, away, phone)
    assert len(audit) == 2 and {e["actor"] for e in audit} == {f"system:automation:{away}"}
    assert all(e["data"]["version"] == 1 and e["data"]["actions"] == ["reply"] for e in audit)


def test_welcome_once_even_when_meta_delivers_twenty_times_at_once(
        http: httpx.Client, live: LiveServer, clock: Clock, barrier_id: str,
        sandbox: GraphSandbox, rules: list[str]) -> None:
    welcome = enable(http, rules, rule_id="builtin.welcome")
    phone = new_phone()
    now = clock.set(MONDAY + 10 * HOUR)
    body = meta.body_of(meta.envelope(meta.messages_change(
        messages=[meta.text(f"wamid.welcome.{phone}", phone, "hi there", ts=int(now))],
        contacts=[meta.contact(phone, "New Customer")], phone_number_id=PHONE_NUMBER_ID)))
    start = Barrier(20)

    def deliver(_: int) -> int:
        with live.client() as own:
            start.wait(timeout=10)
            return meta.post(own, body, secret=SECRET).status_code

    with ThreadPoolExecutor(20) as pool:
        assert set(pool.map(deliver, range(20))) == {200}
    wait_automatic(http, phone, welcome)
    # The customer's second message is not a first message: no second welcome.
    says(sandbox, http, phone, "anyone?", now + 60)
    barrier(sandbox, http, barrier_id, now + 60)
    assert len(automatic(http, phone, welcome)) == 1
    assert len(fired(live, welcome, phone)) == 1
    assert len([m for m in thread(http, phone) if m["direction"] == "in"]) == 2


def test_keyword_rule_in_english_and_chinese(http: httpx.Client, sandbox: GraphSandbox,
                                             clock: Clock, barrier_id: str,
                                             rules: list[str]) -> None:
    assert http.post("/api/labels", json={"name": "Sales"}).status_code in (201, 409)
    prices = enable(http, rules, {
        "name": "Prices", "when": "message.received",
        "if": [{"keywords": ["price", "价格", "preço"]}],
        "then": [{"reply": {"text": "Hi {{name}}, our prices are on the website."}},
                 {"add_labels": ["Sales"]}]})
    now = clock.set(MONDAY + 11 * HOUR)
    english, chinese, accents, neither = (new_phone() for _ in range(4))
    says(sandbox, http, english, "What is the PRICE of a room?", now)
    says(sandbox, http, chinese, "请问价格多少？", now)
    says(sandbox, http, accents, "Qual é o PRECO?", now)
    says(sandbox, http, neither, "Priceless views, thank you", now)
    for phone in (english, chinese, accents):
        found = wait_automatic(http, phone, prices)[0]
        assert found["text"] == f"Hi Customer {phone[-4:]}, our prices are on the website."
        wait_until(lambda phone=phone: "Sales" in http.get(
            f"/api/chats/{phone}").json()["chat"]["labels"])
    barrier(sandbox, http, barrier_id, now)
    assert automatic(http, neither, prices) == []


def test_chat_waiting_is_cancelled_by_an_agents_reply(http: httpx.Client,
                                                      sandbox: GraphSandbox, clock: Clock,
                                                      barrier_id: str,
                                                      rules: list[str]) -> None:
    waiting = enable(http, rules, {
        "name": "Hold on", "when": {"trigger": "chat.waiting", "minutes": 10},
        "if": [{"hours": "inside"}], "then": [{"reply": {"text": "We'll be right with you."}}]})
    morning = clock.set(MONDAY + 2 * DAY + 10 * HOUR)  # Wednesday 10:00
    answered, unanswered = new_phone(), new_phone()
    says(sandbox, http, answered, "I need help", morning)
    says(sandbox, http, unanswered, "I need help too", morning)
    clock.set(morning + 120)
    reply(http, answered, "Hello, how can I help?")
    clock.set(morning + 11 * 60)
    wait_automatic(http, unanswered, waiting)
    barrier(sandbox, http, barrier_id, morning + 11 * 60)
    assert automatic(http, answered, waiting) == []
    assert len(automatic(http, unanswered, waiting)) == 1


def test_window_closing_an_hour_before_and_never_after(http: httpx.Client,
                                                       sandbox: GraphSandbox, clock: Clock,
                                                       live: LiveServer, barrier_id: str,
                                                       rules: list[str]) -> None:
    closing = enable(http, rules, {
        "name": "Window closing", "when": {"trigger": "window.closing", "minutes": 60},
        "then": [{"reply": {"text": "Anything else? We can write freely for one more hour."}}]})
    start = clock.set(MONDAY + 3 * DAY + 8 * HOUR)  # Thursday 08:00
    early, late = new_phone(), new_phone()
    says(sandbox, http, early, "Thanks, I'll think about it", start)
    says(sandbox, http, late, "Let me check", start + 2 * HOUR)
    clock.set(start + 22 * HOUR + 50 * 60)  # 70 minutes before the early window closes
    barrier(sandbox, http, barrier_id, clock.now)
    assert automatic(http, early, closing) == []
    clock.set(start + 23 * HOUR + 60)  # 59 minutes before
    sent = wait_automatic(http, early, closing)
    assert len(sent) == 1
    # The late customer's window: the worker first looks after it has closed.
    clock.set(start + 2 * HOUR + 24 * HOUR + 60)
    barrier(sandbox, http, barrier_id, clock.now)
    assert automatic(http, late, closing) == []
    assert fired(live, closing, late) == []


def test_at_most_two_automatic_messages_per_customer_and_day(
        http: httpx.Client, sandbox: GraphSandbox, clock: Clock, live: LiveServer,
        rules: list[str]) -> None:
    hello = enable(http, rules, {"name": "Hello", "when": "message.received",
                                 "if": [{"keywords": ["hello"]}],
                                 "then": [{"reply": {"text": "Hello from the robot"}}]})
    day = MONDAY + 4 * DAY  # Friday
    phone = new_phone()
    for count, hour in ((1, 10), (2, 11)):
        clock.set(day + hour * HOUR)
        says(sandbox, http, phone, "hello", day + hour * HOUR)
        wait_automatic(http, phone, hello, count)
        reply(http, phone)  # a new waiting period follows
    clock.set(day + 12 * HOUR)
    says(sandbox, http, phone, "hello?", day + 12 * HOUR)
    capped = wait_until(lambda: [e for e in fired(live, hello, phone)
                                 if e["data"].get("skipped")])
    assert capped[0]["data"]["skipped"] == "daily_cap" and capped[0]["data"]["actions"] == []
    assert len(automatic(http, phone, hello)) == 2
    reply(http, phone)
    clock.set(day + DAY + 10 * HOUR)  # the next day
    says(sandbox, http, phone, "hello again", day + DAY + 10 * HOUR)
    assert len(wait_automatic(http, phone, hello, 3)) == 3


def test_rules_are_checked_and_admin_only(http: httpx.Client, live: LiveServer) -> None:
    from tests.team_support import agent_headers, refused

    bad = http.post("/api/automations", json={"name": "x", "when": "chat.waiting",
                                              "then": [{"note": "n"}]})
    refused(bad, 400, "bad_rule")
    bad = http.post("/api/automations", json={"name": "x", "when": "message.received",
                                              "if": [{"regex": "("}], "then": [{"note": "n"}]})
    refused(bad, 400, "bad_rule")
    with live.client(headers=agent_headers(live, "bea")) as bea:
        assert bea.get("/api/automations").status_code == 200
        refused(bea.post("/api/automations", json={"name": "x", "when": "message.received",
                                                   "then": [{"note": "n"}]}), 403, "forbidden")
        refused(bea.post("/api/holidays", json={"date": "2026-12-25"}), 403, "forbidden")
    added = http.post("/api/holidays", json={"date": "2026-12-25", "name": "Christmas"})
    assert added.status_code == 201
    assert {"date": "2026-12-25", "name": "Christmas"} in http.get(
        "/api/holidays").json()["holidays"]
    refused(http.post("/api/holidays", json={"date": "25/12"}), 400, "bad_date")
    rule = save_rule(http, {"name": "Tmp", "enabled": False, "when": "message.received",
                            "then": [{"note": "n"}]})
    changed = save_rule(http, {"name": "Tmp 2"}, rule["id"])
    assert changed["version"] == 2 and changed["enabled"] is False
    assert http.delete(f"/api/automations/{rule['id']}").json() == {"deleted": rule["id"]}
    assert rule["id"] not in {r["id"] for r in http.get("/api/automations").json()[
        "automations"]}
