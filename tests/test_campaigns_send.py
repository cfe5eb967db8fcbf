"""Campaigns against the fake Graph API: each recipient exactly once, the counts as Meta
reported them, agents' replies served first, pause and resume, throttling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.campaign_support import (
    accepted_per_recipient,
    add_templates,
    campaign,
    create,
    import_customers,
    requests_to,
    sent_to,
    wait_for,
)
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, customer_writes, send_text, start_crm

CLUB = [(f"8526100{i:04d}", f"Member {i}", "winter", "kayak") for i in range(1000)]
AGENT_CHATS = [f"8526200{i:04d}" for i in range(5)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox(status_delay=0.01)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def live(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("campaigns") / "data"
    data.mkdir()
    server = start_crm(data, sandbox, "--workers", "2", CRM_SEND_RATE="250")
    with server.client(headers=admin_headers(server)) as http:
        add_templates(sandbox, http)
    import_customers(server, data.parent, CLUB)
    yield server
    server.stop()


@pytest.fixture()
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


def test_a_thousand_recipients_get_one_message_each_and_agents_are_served_first(
        live: LiveServer, sandbox: GraphSandbox, http: httpx.Client) -> None:
    for phone in AGENT_CHATS:
        customer_writes(sandbox, live, phone, "a question")
    cid = create(http, "winter prices", audience={"attributes": {"Club": "kayak"}})
    assert campaign(http, cid)["counts"]["audience"] == 1000
    # A double start (two clicks, two workers answering): one campaign.started.
    with ThreadPoolExecutor(4) as pool:
        starts = list(pool.map(lambda _: http.post(f"/api/campaigns/{cid}/start"), range(4)))
    assert all(s.status_code == 200 for s in starts), [s.text for s in starts]
    wait_for(http, cid, lambda c: c["counts"]["sent"] >= 100, message="the campaign to send")
    latencies = []
    for phone in AGENT_CHATS:
        posted = time.monotonic()
        reply = send_text(http, phone, "an agent's answer")
        assert reply.status_code == 202, reply.text
        message_id = reply.json()["message"]["id"]
        wait_until(lambda m=message_id: sandbox.sent(m), 5, interval=0.005,
                   message="the agent's reply to reach Meta")
        latencies.append(time.monotonic() - posted)
    running = campaign(http, cid)
    assert running["state"] == "running", running  # the replies overtook the campaign
    assert max(latencies) < 1.0, latencies

    done = wait_for(http, cid, lambda c: c["state"] == "done"
                    and c["counts"]["read"] == 1000, 60, "every status to come back")
    phones = {p for p, *_ in CLUB}
    assert sent_to(sandbox, phones) == dict.fromkeys(phones, 1)  # the first to them all
    assert accepted_per_recipient(sandbox, http, cid) == dict.fromkeys(phones, 1)
    counts = done["counts"]
    assert {k: counts[k] for k in ("audience", "queued", "sent", "delivered", "read",
                                   "failed", "skipped")} == {
        "audience": 1000, "queued": 1000, "sent": 1000, "delivered": 1000, "read": 1000,
        "failed": 0, "skipped": 0}
    assert done["started_at"] and done["finished_at"]
    # Each message carried its customer's variables.
    with sandbox.state.lock:
        first = next(m for m in sandbox.state.messages if m["to"] == CLUB[7][0])
    body = first["payload"]["template"]["components"][-1]
    assert [p["text"] for p in body["parameters"]] == ["Member 7", "winter"]
    # Recipients page by status.
    page = http.get(f"/api/campaigns/{cid}/recipients", params={"status": "read",
                                                                "limit": 10}).json()
    assert len(page["recipients"]) == 10 and page["next"] is not None
    assert all(r["message_id"] and r["status"] == "read" for r in page["recipients"])

    # A reply within 72 h of delivery counts, and opens the chat as usual.
    customer_writes(sandbox, live, CLUB[3][0], "how much is a double kayak?")
    wait_for(http, cid, lambda c: c["counts"]["replied"] == 1, message="the reply to count")
    thread = http.get("/api/messages", params={"phone": CLUB[3][0]}).json()["messages"]
    assert [m["direction"] for m in thread] == ["out", "in"]
    assert thread[0]["campaign"] == {"id": cid, "name": "winter prices"}


def test_pause_stops_within_a_second_and_resume_continues(
        live: LiveServer, sandbox: GraphSandbox, http: httpx.Client) -> None:
    chosen = CLUB[:300]
    cid = create(http, "paused", audience={"phones": [p for p, *_ in chosen]}, rate=60)
    assert http.post(f"/api/campaigns/{cid}/start").status_code == 200
    ids: set[str] = set()
    wait_for(http, cid, lambda c: c["counts"]["sent"] >= 30)
    paused = http.post(f"/api/campaigns/{cid}/pause")
    assert paused.status_code == 200 and paused.json()["campaign"]["state"] == "paused"
    at = time.time()
    wait_for(http, cid, lambda c: c["counts"]["in_flight"] == 0, 5, "in-flight sends to end")
    page = http.get(f"/api/campaigns/{cid}/recipients", params={"limit": 1000}).json()
    ids = {r["message_id"] for r in page["recipients"] if r["message_id"]}
    with sandbox.state.lock:
        last = max(m["at"] for m in sandbox.state.messages if m["message_id"] in ids)
    assert last - at < 1.0
    stopped = campaign(http, cid)["counts"]
    assert 30 <= stopped["queued"] < 300
    assert http.post(f"/api/campaigns/{cid}/resume").json()["campaign"]["state"] == "running"
    wait_for(http, cid, lambda c: c["state"] == "done" and c["counts"]["sent"] == 300, 30)
    page = http.get(f"/api/campaigns/{cid}/recipients", params={"limit": 1000}).json()
    ids = {r["message_id"] for r in page["recipients"]}
    assert len(ids) == 300
    accepted = [r for r in requests_to(sandbox, ids) if r["outcome"] == "accepted"]
    assert len(accepted) == 300 and len({r["message_id"] for r in accepted}) == 300


def test_throughput_errors_slow_the_campaign_and_pair_limits_only_that_user(
        live: LiveServer, sandbox: GraphSandbox, http: httpx.Client) -> None:
    chosen = [p for p, *_ in CLUB[300:400]]
    sandbox.behave(fail={"code": 131056, "times": 3, "to": chosen[5]})
    pair = create(http, "pair", audience={"phones": chosen}, rate=200)
    http.post(f"/api/campaigns/{pair}/start")
    done = wait_for(http, pair, lambda c: c["state"] == "done" and c["counts"]["sent"] == 100)
    recipients = http.get(f"/api/campaigns/{pair}/recipients", params={"limit": 1000}).json()
    by_phone = {r["phone"]: r["message_id"] for r in recipients["recipients"]}
    assert [r["outcome"] for r in requests_to(sandbox, {by_phone[chosen[5]]})] == [
        "error:131056"] * 3 + ["accepted"]
    others = requests_to(sandbox, {m for p, m in by_phone.items() if p != chosen[5]})
    assert len(others) == 99 and all(r["outcome"] == "accepted" for r in others)
    assert done["failures"] == {}

    chosen = [p for p, *_ in CLUB[400:600]]
    throttle = create(http, "throttled", audience={"phones": chosen}, rate=200)
    http.post(f"/api/campaigns/{throttle}/start")
    wait_for(http, throttle, lambda c: c["counts"]["sent"] >= 20)
    sandbox.behave(fail={"code": 130429, "times": 2})
    done = wait_for(http, throttle, lambda c: c["state"] == "done"
                    and c["counts"]["sent"] == 200)
    recipients = http.get(f"/api/campaigns/{throttle}/recipients",
                          params={"limit": 1000}).json()["recipients"]
    seen = requests_to(sandbox, {r["message_id"] for r in recipients})
    errors = [r["at"] for r in seen if r["outcome"] == "error:130429"]
    assert len(errors) == 2
    after = sorted(r["at"] for r in seen if r["outcome"] == "accepted" and r["at"] > errors[-1])
    # At 200/s the rest would take about 0.9 s; slowed (a pause, then half the rate) longer.
    assert after[-1] - errors[-1] > 1.2
    assert accepted_per_recipient(sandbox, http, throttle) == dict.fromkeys(chosen, 1)
