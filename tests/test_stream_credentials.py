"""An open stream ends with its credential (issue #13, 2 and 6 and 7), in every worker.

Real server with two workers, real event-stream clients, the real commands: ``crm
tokens revoke``, ``crm users disable``, ``crm users passwd`` and ``POST /logout``. Each
test opens the doomed streams until both workers hold one, and a stream of another
credential that must keep going.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.auth_support import bearer, create_agent, create_token, csrf_of, post_login
from tests.conftest import LiveServer, admin_headers, start_server
from tests.sse_client import Appender, StreamClient, worker_of

#: The issue asks for "within a second" of the event's commit; the margin is for a
#: loaded test machine (two workers, the test's clients and other suites on 2 cores).
ENDS_WITHIN = 1.0
SLACK = 1.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("credentials") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, "--workers", "2")
    yield server
    server.stop()


@pytest.fixture
def appender(live: LiveServer) -> Iterator[Appender]:
    store = Appender(live.db_path)
    yield store
    store.close()


def crm(live: LiveServer, *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "crm.cli", *args], env=live.env,
                          input=stdin, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def open_on_both_workers(live: LiveServer, headers: dict[str, str]) -> list[StreamClient]:
    clients: list[StreamClient] = []
    while len(clients) < 2 or (len({worker_of(live, c) for c in clients}) < 2
                               and len(clients) < 12):
        client = StreamClient(live.port, headers)
        assert client.wait_response() == 200, client.body
        assert client.next_item().retry  # the body began: the stream is subscribed
        clients.append(client)
    assert len({worker_of(live, c) for c in clients}) == 2, "both workers hold a stream"
    return clients


def assert_ended(clients: list[StreamClient], since: float) -> None:
    """Every stream ended cleanly within the bound of ``since`` (the event's commit)."""
    for client in clients:
        assert client.done.wait(max(0.0, since + ENDS_WITHIN + SLACK - time.monotonic())), \
            f"a stream is still open {time.monotonic() - since:.2f}s after the event"
        assert client.clean_end, f"cut, not ended: {client.error!r}"


def assert_alive(client: StreamClient, appender: Appender) -> None:
    [position] = appender.append(1, tag="still-here")
    while (event := client.next_event(timeout=5)).position < position:
        pass
    assert event.position == position and not client.done.is_set()


def refused(live: LiveServer, headers: dict[str, str]) -> int:
    return httpx.get(live.url + "/api/stream", headers=headers, timeout=5).status_code


def session_cookie(live: LiveServer, name: str, password: str) -> tuple[httpx.Client, dict]:
    http = live.client()
    answer = post_login(http, name, password)
    assert answer.status_code == 303, answer.text
    return http, {"Cookie": f"crm_session={http.cookies['crm_session']}"}


def test_a_revoked_token_ends_its_streams(live: LiveServer, appender: Appender) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "tara", "tara-long-password")
    doomed, token_id = create_token(live, admin, "tara", "doomed")
    other, _ = create_token(live, admin, "tara", "kept")
    keeper = StreamClient(live.port, bearer(other))
    clients = open_on_both_workers(live, bearer(doomed))
    try:
        assert keeper.wait_response() == 200
        crm(live, "tokens", "revoke", token_id)
        started = time.monotonic()
        assert_ended(clients, started)
        assert refused(live, bearer(doomed)) == 401
        assert_alive(keeper, appender)  # the agent's other token is untouched
    finally:
        for client in [keeper, *clients]:
            client.close()


def test_a_disabled_agent_loses_every_stream(live: LiveServer, appender: Appender) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "dina", "dina-long-password")
    token, _ = create_token(live, admin, "dina")
    http, cookie = session_cookie(live, "dina", "dina-long-password")
    keeper = StreamClient(live.port, admin)
    clients = open_on_both_workers(live, bearer(token)) + open_on_both_workers(live, cookie)
    try:
        assert keeper.wait_response() == 200
        crm(live, "users", "disable", "dina")
        started = time.monotonic()
        assert_ended(clients, started)
        assert refused(live, bearer(token)) == 401
        assert refused(live, cookie) == 401
        assert_alive(keeper, appender)
    finally:
        http.close()
        for client in [keeper, *clients]:
            client.close()


def test_a_changed_admin_flag_ends_the_agents_streams(live: LiveServer,
                                                      appender: Appender) -> None:
    """A demoted admin's open streams must stop carrying admin-only frames: they end
    (and the page reconnects as a plain agent), however the agent signed in."""
    admin = admin_headers(live)
    create_agent(live, admin, "ada", "ada-long-password", is_admin=True)
    token, _ = create_token(live, admin, "ada")
    keeper = StreamClient(live.port, admin)
    clients = open_on_both_workers(live, bearer(token))
    try:
        assert keeper.wait_response() == 200
        crm(live, "users", "admin", "ada", "--off")
        started = time.monotonic()
        assert_ended(clients, started)
        again = StreamClient(live.port, bearer(token))  # still an agent, not an admin
        clients.append(again)
        assert again.wait_response() == 200
        assert_alive(keeper, appender)
    finally:
        for client in [keeper, *clients]:
            client.close()


def test_a_new_password_ends_the_session_streams(live: LiveServer, appender: Appender) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "pia", "pia-long-password")
    token, _ = create_token(live, admin, "pia")
    http, cookie = session_cookie(live, "pia", "pia-long-password")
    keeper = StreamClient(live.port, bearer(token))  # tokens outlive a password change
    clients = open_on_both_workers(live, cookie)
    try:
        assert keeper.wait_response() == 200
        crm(live, "users", "passwd", "pia", "--password-stdin",
            stdin="pia-new-long-password\n")
        started = time.monotonic()
        assert_ended(clients, started)
        assert refused(live, cookie) == 401
        assert_alive(keeper, appender)
        # Signed in again with the new password, resuming from before the change: the
        # old change does not end the new session's stream.
        again, fresh = session_cookie(live, "pia", "pia-new-long-password")
        resumed = StreamClient(live.port, fresh, params={"after": "0"})
        try:
            assert resumed.wait_response() == 200
            assert_alive(resumed, appender)
        finally:
            resumed.close()
            again.close()
    finally:
        http.close()
        for client in [keeper, *clients]:
            client.close()


def test_signing_out_ends_that_sessions_streams(live: LiveServer, appender: Appender) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "sol", "sol-long-password")
    http, cookie = session_cookie(live, "sol", "sol-long-password")
    other, other_cookie = session_cookie(live, "sol", "sol-long-password")  # another browser
    keeper = StreamClient(live.port, other_cookie)
    clients = open_on_both_workers(live, cookie)
    try:
        assert keeper.wait_response() == 200
        answer = http.post("/logout", headers=csrf_of(http))
        started = time.monotonic()
        assert answer.status_code == 303
        assert_ended(clients, started)
        assert refused(live, cookie) == 401
        assert_alive(keeper, appender)
    finally:
        http.close()
        other.close()
        for client in [keeper, *clients]:
            client.close()


def test_non_admins_never_see_agents_or_tokens(live: LiveServer, appender: Appender) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "nia", "nia-long-password")
    token, _ = create_token(live, admin, "nia")
    watcher = StreamClient(live.port, bearer(token))
    boss = StreamClient(live.port, admin)
    try:
        assert watcher.wait_response() == 200 and boss.wait_response() == 200
        for client in (watcher, boss):
            assert client.next_item().retry
        create_agent(live, admin, "newbie", "newbie-long-password", is_admin=True)
        create_token(live, admin, "newbie", "a label only admins see")
        [position] = appender.append(1, tag="for-everyone")
        seen = []
        while not seen or seen[-1].position < position:
            seen.append(watcher.next_event(timeout=5))
        assert [e.event for e in seen] == ["test.stream"]
        told = []
        while not told or told[-1].position < position:
            told.append(boss.next_event(timeout=5))
        assert [e.event for e in told] == ["agent.created", "token.created", "test.stream"]
        # The same in /api/events, and the page still says where to go on.
        first = told[0].position - 1
        with live.client() as http:
            mine = http.get("/api/events", params={"after": first, "limit": 2},
                            headers=bearer(token)).json()
            theirs = http.get("/api/events", params={"after": first, "limit": 2},
                              headers=admin).json()
        assert mine["events"] == [] and mine["next"] == told[1].position
        assert [e["type"] for e in theirs["events"]] == ["agent.created", "token.created"]
    finally:
        watcher.close()
        boss.close()


def test_an_agent_has_at_most_so_many_streams(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("limit") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, CRM_STREAMS_PER_AGENT="2")
    appender = Appender(server.db_path)
    clients: list[StreamClient] = []
    try:
        admin = admin_headers(server)
        create_agent(server, admin, "lia", "lia-long-password")
        token, _ = create_token(server, admin, "lia")
        other, _ = create_token(server, admin, "lia")
        for _ in range(3):
            clients.append(StreamClient(server.port, bearer(token)))
            assert clients[-1].wait_response() == 200
            assert clients[-1].next_item().retry
        oldest, *kept = clients
        assert oldest.done.wait(5) and oldest.clean_end  # the third closed the first
        # Another token of the same agent counts on its own.
        clients.append(StreamClient(server.port, bearer(other)))
        assert clients[-1].wait_response() == 200
        for client in [*kept, clients[-1]]:
            assert_alive(client, appender)
    finally:
        appender.close()
        for client in clients:
            client.close()
        server.stop()
