"""Meta's delivery habits on a real ``crm serve``: batches, retries, concurrency, order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crm.events import parse_time
from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers
from tests.meta_payloads import (
    BASE_TS,
    FIXTURES,
    body_of,
    contact,
    envelope,
    events_after,
    message,
    messages_change,
    position,
    post,
    post_at_once,
    status,
    text,
    webhook_server,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "webhook-delivery") as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    # An agent's client: /healthz tells only agents the log's position.
    with live.client(headers=admin_headers(live)) as c:
        yield c


def chat(live: LiveServer, client: httpx.Client, phone: str) -> dict:
    answer = client.get(f"/api/chats/{phone}", headers=admin_headers(live))
    assert answer.status_code == 200, answer.text
    return answer.json()["chat"]


def thread(live: LiveServer, client: httpx.Client, phone: str) -> list[dict]:
    answer = client.get("/api/messages", params={"phone": phone, "limit": 200},
                        headers=admin_headers(live))
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def test_one_post_of_50_messages_from_10_customers_and_30_statuses(
        live: LiveServer, client: httpx.Client) -> None:
    customers = [f"4915100000{n:03d}" for n in range(10)]
    changes = []
    for c, phone in enumerate(customers):  # one change per customer, as Meta groups them
        messages = [text(f"wamid.BATCH.{c}.{m}", phone, f"message {m} from {c}",
                         ts=BASE_TS + 60 * m + c) for m in range(5)]
        statuses = [status(f"wamid.BATCH.OUT.{c}.{s}", phone, state, ts=BASE_TS + s)
                    for s, state in enumerate(("sent", "delivered", "read"))]
        changes.append(messages_change(messages, statuses,
                                       contacts=[contact(phone, f"Customer {c}")]))
    payload = envelope(*changes[:5])
    payload["entry"].append(envelope(*changes[5:], entry_id="WABA1")["entry"][0])
    before = position(client)

    assert post(client, body_of(payload)).status_code == 200

    recorded = events_after(live, before)
    assert Counter(e["type"] for e in recorded) == {"message.received": 50,
                                                    "message.status": 30}
    assert len({e["idempotency_key"] for e in recorded}) == 80
    for c, phone in enumerate(customers):
        row = chat(live, client, phone)
        assert row["unread"] == 5
        assert row["name"] == f"Customer {c}"
        assert row["last_message"]["text"] == f"message 4 from {c}"
        assert [m["text"] for m in thread(live, client, phone)] == [
            f"message {m} from {c}" for m in range(5)]
    listed = client.get("/api/chats", params={"limit": 200}, headers=admin_headers(live))
    assert {row["phone"] for row in listed.json()["chats"]} >= set(customers)


def test_the_same_post_20_times_at_once_gives_one_event_per_update(
        live: LiveServer, client: httpx.Client) -> None:
    phone = "3531000000001"
    payload = envelope(messages_change(
        [text(f"wamid.CONC.{n}", phone, f"hello {n}") for n in range(5)],
        [status("wamid.CONC.OUT", phone, s) for s in ("sent", "delivered", "read")],
        contacts=[contact(phone, "Concurrent")]))
    before = position(client)
    assert post_at_once(live, body_of(payload), 20) == [200] * 20
    recorded = events_after(live, before)
    assert sorted(e["idempotency_key"] for e in recorded) == sorted(
        [f"wa:wamid.CONC.{n}" for n in range(5)]
        + [f"wa:wamid.CONC.OUT:{s}" for s in ("sent", "delivered", "read")])
    assert chat(live, client, phone)["unread"] == 5


def test_a_post_delivered_100_times_gives_the_log_of_one(live: LiveServer,
                                                          client: httpx.Client) -> None:
    phone = "3531000000002"
    payload = envelope(
        messages_change([text("wamid.RETRY.1", phone, "once")],
                        [status("wamid.RETRY.OUT", phone, "delivered")]),
        {"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION"}})
    body = body_of(payload)
    before = position(client)
    assert post(client, body).status_code == 200
    once = events_after(live, before)
    for _ in range(99):
        assert post(client, body).status_code == 200
    assert events_after(live, before) == once
    assert [e["type"] for e in once] == ["message.received", "message.status", "webhook.change"]
    assert chat(live, client, phone)["unread"] == 1


def test_a_batch_of_1000_updates_near_3_mb_is_recorded_in_full(
        live: LiveServer, client: httpx.Client) -> None:
    phone = "3531000000003"
    padding = "é" * 500  # six escaped bytes each on the wire
    messages = [text(f"wamid.BIG.{n}", phone, f"{n} {padding}") for n in range(1000)]
    body = body_of(envelope(messages_change(messages, contacts=[contact(phone, "Big")])))
    assert 2_500_000 < len(body) < 4 * 1024 * 1024
    before = position(client)
    assert post(client, body).status_code == 200
    recorded = events_after(live, before)
    assert [e["idempotency_key"] for e in recorded] == [f"wa:wamid.BIG.{n}" for n in range(1000)]
    assert chat(live, client, phone)["unread"] == 1000


def test_a_conversation_batch_attaches_reactions_edits_and_revokes(
        live: LiveServer, client: httpx.Client) -> None:
    raw = (FIXTURES / "mixed_batch.json").read_bytes()
    before = position(client)
    assert post(client, raw).status_code == 200
    recorded = events_after(live, before)
    assert Counter(e["type"] for e in recorded) == {
        "message.received": 7, "message.status": 3, "webhook.change": 1}

    maya = "447700900001"
    rows = {m["wamid"]: m for m in thread(live, client, maya)}
    assert set(rows) == {"wamid.MIX.1", "wamid.MIX.2", "wamid.MIX.6"}  # annotations attach
    first = rows["wamid.MIX.1"]
    assert first["text"] == "Hi, my order hasn't arrived"  # the original is kept
    assert first["edited"]["text"] == "Hi, my order #123 hasn't arrived"
    assert first["reactions"] == [{"emoji": "\U0001f64f", "from": maya}]
    image = rows["wamid.MIX.2"]
    assert image["type"] == "image" and image["caption"] == "the box"
    assert image["media"]["id"] == "880001"
    assert "revoked" in image
    poll = rows["wamid.MIX.6"]
    assert poll["type"] == "unknown"  # shown as a placeholder, never dropped
    assert poll["raw"]["poll"]["question"] == "Which day?"
    maya_chat = chat(live, client, maya)
    assert maya_chat["unread"] == 3 and maya_chat["name"] == "Maya"

    bo = chat(live, client, "US.55501")  # a username customer: no phone at all
    assert bo["name"] == "Bo" and bo["unread"] == 1
    failed = next(e for e in recorded if e["idempotency_key"] == "wa:wamid.OUT.2:failed")
    assert failed["stream"] == "chat:US.55501"
    assert failed["data"]["error"]["code"] == 131047


def test_occurred_at_is_metas_time_and_recorded_at_ours(live: LiveServer,
                                                        client: httpx.Client) -> None:
    phone = "3531000000004"
    sent_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    before = position(client)
    body = body_of(envelope(messages_change(
        [text("wamid.TIME.1", phone, "late", ts=int(sent_at.timestamp()))])))
    assert post(client, body).status_code == 200
    [event] = events_after(live, before)
    assert event["occurred_at"] == "2026-01-02T03:04:05Z"
    assert abs(parse_time(event["recorded_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_annotations_that_arrive_before_their_message_wait_for_it(
        live: LiveServer, client: httpx.Client) -> None:
    phone = "3531000000005"
    later = [
        message("wamid.OOO.r", phone, "reaction", {"message_id": "wamid.OOO.1", "emoji": "🎉"},
                ts=BASE_TS + 20),
        message("wamid.OOO.e2", phone, "edit", {"original_message_id": "wamid.OOO.1",
                                               "message": {"type": "text",
                                                           "text": {"body": "third"}}},
                ts=BASE_TS + 30),
        message("wamid.OOO.e1", phone, "edit", {"original_message_id": "wamid.OOO.1",
                                               "message": {"type": "text",
                                                           "text": {"body": "second"}}},
                ts=BASE_TS + 10),
    ]
    assert post(client, body_of(envelope(messages_change(later)))).status_code == 200
    assert post(client, body_of(envelope(messages_change(
        [text("wamid.OOO.1", phone, "first", ts=BASE_TS)])))).status_code == 200
    [row] = thread(live, client, phone)
    assert row["text"] == "first"
    assert row["edited"]["text"] == "third"  # the newest edit wins, whatever the order
    assert row["reactions"] == [{"emoji": "🎉", "from": phone}]


def test_concurrent_retries_across_two_workers_give_one_event_per_update(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    with webhook_server(tmp_path_factory, "webhook-workers", "--workers", "2") as server:
        phone = "3531000000009"
        body = body_of(envelope(messages_change(
            [text(f"wamid.W2.{n}", phone, f"hi {n}") for n in range(3)],
            [status("wamid.W2.OUT", phone, "delivered")])))
        with server.client(headers=admin_headers(server)) as probe:
            before = position(probe)
        # A connection each: the kernel spreads them over both workers' accept queues.
        assert post_at_once(server, body, 20) == [200] * 20
        keys = [e["idempotency_key"] for e in events_after(server, before)]
        assert sorted(keys) == sorted([f"wa:wamid.W2.{n}" for n in range(3)]
                                      + ["wa:wamid.W2.OUT:delivered"])


def test_a_replay_rebuilds_exactly_the_rows_the_webhooks_built(live: LiveServer) -> None:
    """Runs last in this module: the handlers are deterministic over everything above."""
    result = check(live.db_path, default_projector())
    assert result.position > 0
    assert result.identical, result.differences
