"""Races, run as races: concurrent requests against a real ``crm serve`` (with the fake
Graph server), concurrent appends to one group commit, and statuses in any order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.events import Database, EventStore, NewEvent
from crm.events.messages import MessageFateUnknown, MessageStatus, chat_stream
from crm.projections import default_projector
from crm.projections.messages import STATUS_RANK, get_message
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers
from tests.factories import failed, queued, sent
from tests.sandbox_support import (
    GraphSandbox,
    customer_writes,
    events,
    send_text,
    start_crm,
    wait_status,
)

TWINS = 6
SENDER_PHONE, RETRY_PHONE = "85292000001", "85292000002"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("races") / "data"
    data_dir.mkdir()
    live = start_crm(data_dir, sandbox)
    for phone in (SENDER_PHONE, RETRY_PHONE):
        customer_writes(sandbox, live, phone, "hi")
    yield live
    live.stop()


async def _at_once(server: LiveServer, path: str, key: str,
                   body: dict | None = None) -> list[httpx.Response]:
    """``TWINS`` identical requests, all in flight together, each on its own connection."""
    limits = httpx.Limits(max_connections=TWINS, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, headers=admin_headers(server),
                                 timeout=10, limits=limits) as http:
        return list(await asyncio.gather(*(
            http.post(path, json=body, headers={"Idempotency-Key": key})
            for _ in range(TWINS))))


def _all_sent_before(server: LiveServer, sandbox: GraphSandbox, phone: str) -> None:
    """Wait until a new message to ``phone`` reached Meta: the sender sends a chat's
    messages one at a time in log order, so everything queued before it is done."""
    with server.client(headers=admin_headers(server)) as http:
        marker = send_text(http, phone, "after the race").json()["message"]
        wait_status(http, phone, marker["id"], "sent")
    assert len(sandbox.sent(marker["id"])) == 1


async def test_twin_sends_with_one_key_queue_one_message(server: LiveServer,
                                                         sandbox: GraphSandbox) -> None:
    answers = await _at_once(server, "/api/send", "twin-send",
                             {"phone": SENDER_PHONE, "text": "only once, however often"})
    assert [a.status_code for a in answers] == [202] * TWINS, [a.text for a in answers]
    ids = {a.json()["message"]["id"] for a in answers}
    assert len(ids) == 1
    [message_id] = ids
    first = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
    assert len(first) == 1  # every other answer says it replays the first request
    queued_events = [e for e in events(server, "message.queued")
                     if e["key"] == "send:admin:twin-send"]
    assert [e["data"]["message_id"] for e in queued_events] == [message_id]
    _all_sent_before(server, sandbox, SENDER_PHONE)
    assert len(sandbox.sent(message_id)) == 1


async def test_twin_retries_with_one_key_resend_once(server: LiveServer,
                                                     sandbox: GraphSandbox) -> None:
    sandbox.behave(fail={"code": 131047})  # permanent: the next send fails at once
    with server.client(headers=admin_headers(server)) as http:
        message = send_text(http, RETRY_PHONE, "fails, then is retried").json()["message"]
        wait_status(http, RETRY_PHONE, message["id"], "failed")
    answers = await _at_once(server, f"/api/messages/{message['id']}/retry", "twin-retry")
    assert [a.status_code for a in answers] == [202] * TWINS, [a.text for a in answers]
    assert {a.json()["message"]["id"] for a in answers} == {message["id"]}
    retries = events(server, "message.retry", message["id"])
    assert [r["key"] for r in retries] == [f"retry:admin:{message['id']}:twin-retry"]
    with server.client(headers=admin_headers(server)) as http:
        wait_status(http, RETRY_PHONE, message["id"], "sent")
    _all_sent_before(server, sandbox, RETRY_PHONE)
    outcomes = [r["outcome"] for r in sandbox.requests(message["id"], "messages")]
    assert outcomes == ["error:131047", "accepted"]
    assert len(sandbox.sent(message["id"])) == 1


# -- one group commit holding the same key many times -----------------------------------

@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "crm.db")
    database.start()
    yield database
    database.close()


def _keyed(key: str, caller: int) -> NewEvent:
    return NewEvent(type="note.added", stream="notes:race", data={"caller": caller},
                    idempotency_key=key)


async def test_one_group_commit_records_a_repeated_key_once(db: Database) -> None:
    callers = 32
    busy, release = threading.Event(), threading.Event()

    def hold_the_writer(_conn: object) -> None:
        busy.set()
        assert release.wait(10), "never released"

    holding = asyncio.ensure_future(db.write(hold_the_writer))
    assert await asyncio.to_thread(busy.wait, 10)

    async def let_go() -> None:  # runs after every caller has queued its batch
        release.set()

    results = await asyncio.gather(
        *(db.record([_keyed("same", i), _keyed(f"own-{i}", i)]) for i in range(callers)),
        let_go())
    await holding
    results = results[:callers]
    assert {r[0] for r in results} == {1}  # every caller points at the one recorded
    assert sum(r.new[0] for r in results) == 1
    assert all(r.new[1] for r in results)
    assert sorted(r[1] for r in results) == list(range(2, callers + 2))
    recorded = await db.read_after(0, 1000)
    assert len(recorded) == callers + 1
    assert [e.idempotency_key for e in recorded].count("same") == 1
    winner = next(r for r in results if r.new[0])
    assert recorded[0].data["caller"] == results.index(winner)
    # Committed together: one transaction stamps one recorded_at.
    assert len({e.recorded_at for e in recorded}) == 1


# -- a message's status only moves forward, whatever order events come in ---------------

FINAL = max(STATUS_RANK.values()) + 1  # ``failed`` is final: nothing moves it on


def _rank(status: str) -> int:
    return FINAL if status == "failed" else STATUS_RANK[status]


MESSAGES = ("m0", "m1")
WAMIDS = ("w0", "w1", "w2")
PHONE = "85291234567"


@st.composite
def outbound_histories(draw: st.DrawFn) -> list[NewEvent]:
    """Queued, sent (a wamid, sometimes one Meta gave another message), failed, fate
    unknown, and Meta's statuses (any order, repeated, for wamids not seen yet)."""
    history: list[NewEvent] = []
    for n in range(draw(st.integers(1, 25))):
        choice = draw(st.integers(0, 9))
        message, wamid = draw(st.sampled_from(MESSAGES)), draw(st.sampled_from(WAMIDS))
        if choice == 0:
            history.append(queued(message))
        elif choice == 1:
            history.append(sent(message, wamid))
        elif choice == 2:
            history.append(failed(message))
        elif choice == 3:
            history.append(MessageFateUnknown(message_id=message, phone=PHONE,
                                              reason="the server stopped").new(
                chat_stream(PHONE)))
        else:
            value = draw(st.sampled_from(["sent", "delivered", "read", "failed"]))
            # Meta's retry of one webhook shares its key; a second webhook does not.
            key = f"wa:{wamid}:{value}" + (f":{n}" if draw(st.booleans()) else "")
            history.append(MessageStatus(phone=PHONE, wamid=wamid, status=value).new(
                chat_stream(PHONE), actor="meta", idempotency_key=key))
    return history


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(outbound_histories())
def test_a_message_status_never_moves_back(tmp_path_factory: pytest.TempPathFactory,
                                           history: list[NewEvent]) -> None:
    path = tmp_path_factory.mktemp("rank") / "crm.db"
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    try:
        ranks: dict[str, int] = {}
        for event in history:
            store.record([event])
            for message_id in MESSAGES:
                row = get_message(store.conn, message_id)
                if row is None:
                    assert message_id not in ranks
                    continue
                rank = _rank(row["status"])
                before = ranks.get(message_id, 0)
                assert rank >= before, (f"{message_id} went from rank {before} to "
                                        f"{row['status']} after {event.type} {event.data}")
                ranks[message_id] = rank
    finally:
        store.close()
    result = check(path, projector)
    assert result.identical, result.differences
