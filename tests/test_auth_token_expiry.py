"""API tokens may expire: ``crm tokens create --expires 90d`` (or ``"expires"`` in the
API); ``crm tokens list`` shows when, and the guard refuses a token past its time."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crm.auth import commands
from crm.auth.errors import BadDuration
from crm.auth.tokens import parse_duration
from crm.events import EventStore
from crm.events.model import parse_time
from crm.projections import default_projector
from tests.auth_support import bearer, module_server
from tests.conftest import LiveServer, admin_headers, wait_until


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "expiry")


def crm(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], env=server.env,
                          cwd=server.data_dir.parent, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize(("text", "lifetime"), [
    ("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
    ("2w", timedelta(weeks=2)), (" 7D ", timedelta(days=7))])
def test_durations(text: str, lifetime: timedelta) -> None:
    assert parse_duration(text) == lifetime


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "-1d", "1.5d", "1y", "\u0661d",
                                  "9999999d", "1d2h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadDuration):
        parse_duration(text)


def token_line(server: LiveServer, token_id: str) -> str:
    listed = crm(server, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    return next(x for x in listed.stdout.splitlines() if x.startswith(token_id))


def test_a_token_made_with_expires_shows_when_and_works_until_then(live: LiveServer) -> None:
    made = crm(live, "tokens", "create", "admin", "--expires", "90d", "--label", "quarterly")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert "valid until" in made.stderr
    with live.client(headers=admin_headers(live)) as http:
        [row] = [t for t in http.get("/api/tokens").json()["tokens"]
                 if t["label"] == "quarterly"]
    expires = parse_time(row["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    assert f"live until {row['expires_at']}" in token_line(live, row["id"])
    with live.client(headers=bearer(token)) as api:
        assert api.get("/api/me").status_code == 200
    forever = crm(live, "tokens", "create", "admin")
    with live.client(headers=admin_headers(live)) as http:
        unlimited = [t for t in http.get("/api/tokens").json()["tokens"]
                     if t["expires_at"] is None]
    assert unlimited and forever.returncode == 0
    assert "live (no expiry)" in token_line(live, unlimited[-1]["id"])
    refused = crm(live, "tokens", "create", "admin", "--expires", "soon")
    assert refused.returncode == 1 and "not a duration" in refused.stderr


def test_the_guard_refuses_a_token_past_its_time(live: LiveServer) -> None:
    store = EventStore(live.db_path, default_projector())
    try:
        event, token, token_id = commands.plan_token(store.conn, "admin", "short", "system",
                                                     timedelta(seconds=2))
        store.record([event])
    finally:
        store.close()
    with live.client(headers=bearer(token)) as api:
        assert api.get("/api/me").status_code == 200
        wait_until(lambda: api.get("/api/me").status_code == 401, timeout=6, interval=0.1,
                   message="the token to expire")
        assert "expired" in api.get("/api/chats").json()["error"]["message"]
    assert "expired " in token_line(live, token_id)
    checked = crm(live, "replay", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_api_makes_expiring_tokens_too(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        made = http.post("/api/tokens", json={"agent": "admin", "expires": "12h"})
        assert made.status_code == 201, made.text
        expires = parse_time(made.json()["token"]["expires_at"])
        assert abs(expires - (datetime.now(UTC) + timedelta(hours=12))) < timedelta(minutes=1)
        bad = http.post("/api/tokens", json={"agent": "admin", "expires": "forever"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_duration"
