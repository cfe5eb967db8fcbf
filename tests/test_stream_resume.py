"""``GET /api/stream`` on a real server: the protocol, resume without gap or repeat."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, admin_headers, start_server, wait_until
from tests.sse_client import Appender, StreamClient


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("stream") / "data"
    data_dir.mkdir()
    # A short heartbeat so the test sees it; a small queue so catch-up paths run.
    server = start_server(data_dir, CRM_STREAM_HEARTBEAT="0.3", CRM_STREAM_QUEUE="16")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def headers(live: LiveServer) -> dict[str, str]:
    return admin_headers(live)


@pytest.fixture
def appender(live: LiveServer) -> Iterator[Appender]:
    store = Appender(live.db_path)
    yield store
    store.close()


def open_streams(live: LiveServer) -> int:
    return httpx.get(live.url + "/healthz", headers=admin_headers(live),
                     timeout=5).json()["open_streams"]


def test_the_stream_needs_a_signed_in_agent(live: LiveServer) -> None:
    answer = httpx.get(live.url + "/api/stream", timeout=5)
    assert answer.status_code == 401


def test_headers_retry_hint_and_heartbeat(live: LiveServer, headers: dict[str, str]) -> None:
    client = StreamClient(live.port, headers)
    try:
        assert client.wait_response() == 200
        assert client.response_headers["content-type"].startswith("text/event-stream")
        assert client.response_headers["cache-control"] == "no-cache"
        assert client.response_headers["x-accel-buffering"] == "no"
        assert "connection" not in client.response_headers
        first = client.next_item()
        assert first.retry is not None and first.retry > 0
        beats = [client.next_item(timeout=3) for _ in range(2)]
        assert [b.comment for b in beats] == ["heartbeat", "heartbeat"]
        assert beats[1].at - beats[0].at > 0.2
    finally:
        client.close()


def test_without_a_position_the_stream_starts_at_the_end(
        live: LiveServer, headers: dict[str, str], appender: Appender) -> None:
    appender.append(3, tag="before")
    client = StreamClient(live.port, headers)
    try:
        assert client.wait_response() == 200
        [position] = appender.append(1, tag="after")
        event = client.next_event()
        assert event.position == position
        assert event.event == "test.stream"
        body = event.json()
        assert body["position"] == position and body["data"]["tag"] == "after"
        # The same shape as GET /api/events.
        listed = httpx.get(live.url + "/api/events", params={"after": position - 1},
                           headers=headers, timeout=5).json()["events"][0]
        assert body == listed
    finally:
        client.close()


def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(
        live: LiveServer, headers: dict[str, str], appender: Appender) -> None:
    first = StreamClient(live.port, headers)
    assert first.wait_response() == 200
    [seen] = appender.append(1, tag="seen")
    assert first.next_event().position == seen
    first.close()
    wait_until(lambda: open_streams(live) == 0, 5, message="the closed stream to be dropped")

    missed = appender.append(20, tag="missed")
    again = StreamClient(live.port, {**headers, "Last-Event-ID": str(seen)})
    try:
        assert again.wait_response() == 200
        events = again.events(20)
        assert [e.position for e in events] == missed
        assert [e.json()["data"]["i"] for e in events] == list(range(20))
        assert {e.json()["data"]["tag"] for e in events} == {"missed"}
        # Then live, with nothing repeated in between: the next event is the new one.
        [marker] = appender.append(1, tag="marker")
        assert again.next_event().position == marker
    finally:
        again.close()


def test_after_parameter_resumes_and_the_header_wins(
        live: LiveServer, headers: dict[str, str], appender: Appender) -> None:
    positions = appender.append(10, tag="param")
    by_param = StreamClient(live.port, headers, {"after": str(positions[0])})
    both = StreamClient(live.port, {**headers, "Last-Event-ID": str(positions[4])},
                        {"after": "0"})
    try:
        assert [e.position for e in by_param.events(9)] == positions[1:]
        assert [e.position for e in both.events(5)] == positions[5:]
    finally:
        by_param.close()
        both.close()


@pytest.mark.parametrize("header, params", [({"Last-Event-ID": "abc"}, {}),
                                            ({}, {"after": "-1"}), ({}, {"after": "1.5"})])
def test_a_bad_position_is_refused(live: LiveServer, headers: dict[str, str],
                                   header: dict, params: dict) -> None:
    answer = httpx.get(live.url + "/api/stream", params=params, headers={**headers, **header},
                       timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_parameter"


def test_catch_up_turns_into_live_without_gap_or_repeat(
        live: LiveServer, headers: dict[str, str], appender: Appender) -> None:
    """Resume from the start while another process keeps appending: every position once."""
    start = appender.append(1, tag="base")[0]
    stop = threading.Event()
    written: list[int] = []
    writer = Appender(live.db_path)

    def keep_appending() -> None:
        while not stop.is_set() and len(written) < 400:
            written.extend(writer.append(1, tag="race"))

    thread = threading.Thread(target=keep_appending)
    thread.start()
    clients = []
    try:
        wait_until(lambda: len(written) >= 30, 10)
        clients = [StreamClient(live.port, headers, {"after": str(start)}) for _ in range(3)]
        wait_until(lambda: len(written) >= 150, 20)
    finally:
        stop.set()
        thread.join()
        writer.close()
    try:
        for client in clients:
            received = [e.position for e in client.events(len(written), timeout=20)]
            assert received == written
    finally:
        for client in clients:
            client.close()


def test_replay_from_the_start_matches_the_log(
        live: LiveServer, headers: dict[str, str], appender: Appender) -> None:
    """Events from before the server started come from the log, later ones from memory."""
    last = appender.append(5, tag="replay")[-1]
    client = StreamClient(live.port, headers, {"after": "0"})
    try:
        events = client.events(last)
        assert [e.position for e in events] == list(range(1, last + 1))
        listed = httpx.get(live.url + "/api/events", params={"after": 0, "limit": 200},
                           headers=headers, timeout=5).json()["events"]
        assert [e.json() for e in events[:len(listed)]] == listed
    finally:
        client.close()


def test_closed_streams_are_dropped_at_once(live: LiveServer, headers: dict[str, str]) -> None:
    clients = [StreamClient(live.port, headers) for _ in range(5)]
    for client in clients:
        assert client.wait_response() == 200
    assert open_streams(live) >= 5
    for client in clients:
        client.close()
    wait_until(lambda: open_streams(live) == 0, 2, message="closed streams to be dropped")
