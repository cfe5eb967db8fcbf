"""Sign-in rate limit and idle sessions, each on a server of its own."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.auth import ratelimit, sessions
from tests.auth_support import create_agent, module_server, post_login, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers, start_server, wait_until

IDLE_HOURS = 0.0005  # 1.8 seconds


def from_address(server: LiveServer, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (127.0.0.0/8)."""
    return httpx.Client(base_url=server.url, timeout=10,
                        transport=httpx.HTTPTransport(local_address=address))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    data = tmp_path_factory.mktemp("limits") / "data"
    data.mkdir()
    log = data.parent / "server.log"
    with log.open("wb") as stderr:
        server = start_server(data, stderr=stderr)
    yield server, log
    server.stop()


def test_eleventh_failure_for_a_name_is_429_to_the_addresses_that_failed(
        limited: tuple[LiveServer, Path]) -> None:
    server, log = limited
    create_agent(server, admin_headers(server), "rita", "rita-password-1")
    for i in range(10):  # from ten addresses, so only the per-name limit applies
        with from_address(server, f"127.0.0.{10 + i}") as http:
            assert post_login(http, "rita", f"guess-{i}").status_code == 401
    with from_address(server, "127.0.0.10") as http:
        refused = post_login(http, "rita", "rita-password-1")  # even the right password
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "Too many failed sign-ins" in refused.text
        assert "crm_session" not in http.cookies
    with from_address(server, "127.0.0.30") as http:
        # From an address that has not failed for rita, the right password still signs
        # in (slowed down): an attacker cannot lock rita out.
        assert post_login(http, "rita", "rita-password-1").status_code == 303
    with from_address(server, "127.0.0.31") as http:
        assert post_login(http, "admin", ADMIN_PASSWORD).status_code == 303  # other names
    text = wait_until(lambda: log.read_text().count("failed sign-in for 'rita'") == 10
                      and log.read_text(), message="ten failures in the server's log")
    assert "guess-" not in text  # the log names the agent, never the password tried


def test_a_name_that_is_no_agent_is_not_logged(limited: tuple[LiveServer, Path]) -> None:
    server, log = limited
    with from_address(server, "127.0.0.45") as http:
        # A password typed into the name field, by mistake.
        assert post_login(http, "Hunter2-Secret!", "whatever").status_code == 401
        assert post_login(http, "admin", "not-the-password").status_code == 401
    text = wait_until(lambda: "failed sign-in for 'admin' from 127.0.0.45" in log.read_text()
                      and log.read_text(), message="the failures in the server's log")
    assert "failed sign-in for an unknown name from 127.0.0.45" in text
    assert "hunter2" not in text.lower()


def test_eleventh_failure_from_an_address_is_429(limited: tuple[LiveServer, Path]) -> None:
    server, _ = limited
    create_agent(server, admin_headers(server), "sam", "sam-password-1")
    with from_address(server, "127.0.0.40") as http:
        for i in range(10):
            assert post_login(http, f"name{i}", "whatever-1").status_code == 401
        assert post_login(http, "sam", "sam-password-1").status_code == 429
        json_answer = http.post("/login", json={"username": "sam", "password": "x"})
        assert json_answer.status_code == 429
        assert json_answer.json()["error"]["code"] == "too_many_requests"
    with from_address(server, "127.0.0.41") as http:
        assert post_login(http, "sam", "sam-password-1").status_code == 303


def test_the_limit_window_slides_and_successes_do_not_count(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "limits.db", isolation_level=None)
    ratelimit.create_schema(db)
    keys = ratelimit.keys_for("ana", "10.0.0.1")
    start = 1_000_000.0
    ok = ratelimit.begin_attempt(db, keys, start)
    ratelimit.succeeded(db, ok)  # a right password gives its place back
    for i in range(10):
        assert not ratelimit.begin_attempt(db, keys, start + i).refused
    refused = ratelimit.begin_attempt(db, keys, start + 30)
    assert refused.refused and refused.retry_after == pytest.approx(30)
    assert ratelimit.begin_attempt(db, keys, start + 59.9).refused
    assert not ratelimit.begin_attempt(db, keys, start + 60.5).refused  # first one aged out
    assert ratelimit.begin_attempt(db, keys, start + 60.6).refused
    other = ratelimit.keys_for("bob", "10.0.0.2")
    assert not ratelimit.begin_attempt(db, other, start + 60.6).refused


def test_a_name_failing_from_many_addresses_is_slowed_not_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "limits.db", isolation_level=None)
    ratelimit.create_schema(db)
    start = 1_000_000.0
    for i in range(10):
        attempt = ratelimit.begin_attempt(db, ratelimit.keys_for("cara", f"10.0.0.{i}"), start)
        assert not attempt.refused and attempt.delay == 0
    # An address that failed for cara is refused; a clean one waits, longer each time.
    assert ratelimit.begin_attempt(db, ratelimit.keys_for("cara", "10.0.0.3"), start).refused
    first = ratelimit.begin_attempt(db, ratelimit.keys_for("cara", "10.0.1.1"), start)
    second = ratelimit.begin_attempt(db, ratelimit.keys_for("cara", "10.0.1.2"), start)
    assert (first.delay, second.delay) == (1.0, 2.0)
    assert ratelimit.backoff(100) == ratelimit.BACKOFF_MAX
    ratelimit.succeeded(db, second)  # a right password gives all its places back
    third = ratelimit.begin_attempt(db, ratelimit.keys_for("cara", "10.0.1.3"), start)
    assert third.delay == 2.0
    # Other names from those addresses are not refused for cara's sake.
    assert not ratelimit.begin_attempt(db, ratelimit.keys_for("dan", "10.0.0.3"), start).refused


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "idle", CRM_SESSION_IDLE_HOURS=str(IDLE_HOURS))


def test_sessions_expire_when_idle_but_not_while_used(short_sessions: LiveServer) -> None:
    server = short_sessions
    idle = IDLE_HOURS * 3600
    with sign_in(server, "admin", ADMIN_PASSWORD) as http:
        session_id = http.cookies["crm_session"].rsplit(".", 1)[0]
        started = time.monotonic()
        # Used every 0.2 s for twice the idle time: still signed in throughout.
        wait_until(lambda: http.get("/api/me").status_code == 200
                   and time.monotonic() - started > 2 * idle,
                   timeout=4 * idle, interval=0.2, message="an active session to outlive idle")
        db = sqlite3.connect(server.db_path)
        try:
            last_seen = sessions.seen_at(db, session_id)
        finally:
            db.close()
        assert last_seen is not None
        wait_until(lambda: time.time() > last_seen + idle + 0.05, timeout=idle + 2,
                   message="the session to be idle past its limit")
        assert http.get("/api/me").status_code == 401
        bounced = http.get("/", follow_redirects=False)
        assert bounced.status_code == 302 and bounced.headers["location"].startswith("/login")
