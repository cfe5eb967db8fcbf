"""The stream's parts on a real SQLite file: hub overflow, catch-up, cancellation, frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.events import Database, NewEvent, RecordedEvent
from crm.stream import HEARTBEAT, RETRY, Hub, LiveStream, encode
from tests.sse_client import parse_block


def event(i: int, **data: object) -> NewEvent:
    return NewEvent(type="test.stream", stream="test:hub", data={"i": i, **data})


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "crm.db")  # the log alone: no projections needed
    database.start()
    yield database
    database.close()


@pytest.fixture(params=[4096, 4], ids=["from-memory", "from-the-log"])
async def live(db: Database, request: pytest.FixtureRequest) -> AsyncIterator[LiveStream]:
    """Queues of 8; the hub keeps 4096 recent frames, or 4 so catch-up reads the log."""
    stream = LiveStream(db, heartbeat=60, poll=0.05, queue=8, page=5, recent=request.param)
    stopping = asyncio.Event()
    await stream.start(stopping)
    yield stream
    await stream.stop()


def positions(chunk: bytes) -> list[int]:
    return [int(block.split(b"\n")[0][4:]) for block in chunk.split(b"\n\n")
            if block.startswith(b"id: ")]


async def drain(stream: AsyncIterator[bytes], count: int, timeout: float = 5) -> list[int]:
    """Read chunks until ``count`` event positions have arrived."""
    seen: list[int] = []

    async def read() -> None:
        while len(seen) < count:
            seen.extend(positions(await anext(stream)))

    await asyncio.wait_for(read(), timeout)
    return seen


def test_publish_over_the_limit_drops_the_queue_not_the_others() -> None:
    hub = Hub(limit=4)
    slow, fast = hub.subscribe(), hub.subscribe()
    frames = [(i, f"f{i}".encode(), None) for i in range(1, 4)]
    hub.publish(frames)
    assert fast.take(0) == (b"f1f2f3", 3)
    hub.publish([(4, b"f4", None), (5, b"f5", None)])  # slow would hold 5 > 4: it overflows
    assert slow.overflowed and not slow.frames
    assert hub.overflows == 1
    assert not fast.overflowed and fast.take(3) == (b"f4f5", 5)
    hub.publish([(6, b"f6", None)])
    assert not slow.frames  # an overflowed queue stays empty until it is re-armed
    slow.rearm()
    hub.publish([(7, b"f7", None)])
    assert slow.take(5) == (b"f7", 7)
    assert hub.position == 7


def test_recent_frames_serve_a_short_catch_up() -> None:
    assert Hub(position=7).since(3, 10) is None  # started at 7: 4..7 only in the log
    hub = Hub(limit=4, recent=3)
    hub.publish([(i, b"%d" % i) for i in range(1, 6)])
    assert hub.since(2, 10) == [(3, b"3"), (4, b"4"), (5, b"5")]
    assert hub.since(3, 1) == [(4, b"4")]
    assert hub.since(1, 10) is None  # 2 is no longer held
    assert hub.since(5, 10) == [] and hub.since(9, 10) == []  # up to date


def test_recent_frames_are_bounded_in_bytes() -> None:
    hub = Hub(limit=4, recent=100, recent_bytes=10)
    hub.publish([(1, b"x" * 6), (2, b"y" * 6)])
    assert hub.since(1, 10) == [(2, b"y" * 6)]
    assert hub.since(0, 10) is None


def test_take_skips_what_was_already_sent() -> None:
    hub = Hub(limit=10)
    sub = hub.subscribe()
    hub.publish([(1, b"a", None), (2, b"b", None), (3, b"c", None)])
    assert sub.take(2) == (b"c", 3)
    hub.publish([(4, b"d", None)])
    assert sub.take(9) == (b"", 9)


async def test_an_overflowed_stream_catches_up_from_the_log(
        db: Database, live: LiveStream) -> None:
    start = await live.end()
    slow = live.follow(start)
    fast = live.follow(start)
    assert await anext(slow) == RETRY and await anext(fast) == RETRY
    first = await db.record([event(0)])
    assert await drain(slow, 1) == first and await drain(fast, 1) == first  # both live
    written: list[int] = []
    fast_seen: list[int] = []
    for i in range(1, 41):  # the slow stream reads nothing meanwhile: its queue of 8 overflows
        written += await db.record([event(i)])
        fast_seen += await drain(fast, 1)
    assert fast_seen == written
    assert live.hub.overflows == 1
    assert await drain(slow, 40) == written  # in pages of 5: nothing lost
    written += await db.record([event(40)])
    assert await drain(slow, 1) == written[-1:]  # and live again, nothing repeated
    await slow.aclose()
    await fast.aclose()
    assert len(live.hub) == 0


async def test_a_cancelled_stream_unsubscribes_and_stays_cancelled(live: LiveStream) -> None:
    stream = live.follow(await live.end())
    entered = asyncio.Event()

    async def consume() -> None:
        async for chunk in stream:
            if chunk == RETRY:
                entered.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(entered.wait(), 5)
    await asyncio.sleep(0)  # let it park in its wait for frames
    assert len(live.hub) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert len(live.hub) == 0


async def test_a_stream_never_started_holds_no_subscription(live: LiveStream) -> None:
    stream = live.follow(0)
    assert len(live.hub) == 0
    await stream.aclose()
    assert len(live.hub) == 0


async def test_stopping_ends_every_stream(db: Database) -> None:
    stream = LiveStream(db, heartbeat=60, poll=0.05)
    stopping = asyncio.Event()
    await stream.start(stopping)
    try:
        followers = [stream.follow(await stream.end()) for _ in range(3)]
        for follower in followers:
            assert await anext(follower) == RETRY
        stopping.set()
        for follower in followers:
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(anext(follower), 2)
        late = stream.follow(0)
        assert await anext(late) == RETRY
        with pytest.raises(StopAsyncIteration):
            await anext(late)
        assert len(stream.hub) == 0
    finally:
        await stream.stop()


async def test_heartbeat_when_idle(db: Database) -> None:
    stream = LiveStream(db, heartbeat=0.1, poll=0.05)
    await stream.start(asyncio.Event())
    try:
        follower = stream.follow(await stream.end())
        assert await anext(follower) == RETRY
        assert await asyncio.wait_for(anext(follower), 2) == HEARTBEAT
        await follower.aclose()
    finally:
        await stream.stop()


async def test_a_stream_ends_at_its_max_age(db: Database) -> None:
    stream = LiveStream(db, heartbeat=0.05, poll=0.05, max_age=0.3)
    await stream.start(asyncio.Event())
    try:
        follower = stream.follow(await stream.end())
        started = asyncio.get_running_loop().time()
        chunks = [chunk async for chunk in follower]  # ends by itself
        lasted = asyncio.get_running_loop().time() - started
        assert chunks[0] == RETRY and 0.2 <= lasted < 2
        assert len(stream.hub) == 0
    finally:
        await stream.stop()


async def test_events_from_another_connection_arrive_by_polling(
        db: Database, live: LiveStream, tmp_path: Path) -> None:
    from crm.events import EventStore

    follower = live.follow(await live.end())
    assert await anext(follower) == RETRY
    other = EventStore(tmp_path / "crm.db")
    try:
        written = other.record([event(1), event(2)])  # not through this process's writer
    finally:
        other.close()
    assert await drain(follower, 2) == written
    await follower.aclose()


def recorded(data: dict, type_: str = "test.stream") -> RecordedEvent:
    return RecordedEvent(position=7, id="e7", type=type_, stream="s", occurred_at="t",
                         recorded_at="t", actor="a", idempotency_key=None, data=data,
                         prev_hash="0", hash="1")


def test_a_frame_is_one_event_whatever_the_text() -> None:
    text = "line one\nline two\r\n\n: not a comment\u2028 مرحبا"
    frame = encode(recorded({"text": text}, type_="odd\ntype"))
    assert frame.endswith(b"\n\n") and frame.count(b"\n\n") == 1
    item = parse_block(frame[:-2], 0)
    assert item.id == "7" and item.event == "odd type"
    assert json.loads(item.data)["data"]["text"] == text
    assert "مرحبا".encode() in frame  # not \\u-escaped: Arabic costs 2 bytes, not 6


def test_a_lone_surrogate_is_escaped_not_fatal() -> None:
    frame = encode(recorded({"text": "bad \ud800 text"}))
    item = parse_block(frame[:-2], 0)
    assert json.loads(item.data)["data"]["text"] == "bad \ud800 text"


def test_frames_never_carry_password_hashes() -> None:
    frame = encode(recorded({"name": "ana", "password_hash": "$argon2id$secret", "admin": False},
                            type_="agent.created"))
    data = json.loads(parse_block(frame[:-2], 0).data)["data"]
    assert data["password_hash"] == "[redacted]" and data["name"] == "ana"
    assert b"argon2" not in frame
