"""Making an existing agent admin, or not: ``POST /api/agents/<name>/admin`` and
``crm users admin``. The last enabled admin stays one (409 ``last_admin``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.auth_support import create_agent, csrf_of, module_server, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers

BOB = "bob-password-for-admin"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "admin")


def crm(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], capture_output=True,
                          text=True, env=server.env, cwd=str(server.data_dir.parent),
                          timeout=60)


def test_an_agent_made_admin_and_back_and_the_last_admin_stays(live: LiveServer) -> None:
    with sign_in(live, "admin", ADMIN_PASSWORD) as admin:
        csrf = csrf_of(admin)
        for name in ("bob", "carol"):
            made = admin.post("/api/agents", json={"name": name, "password": BOB},
                              headers=csrf)
            assert made.status_code == 201, made.text
        with sign_in(live, "bob", BOB) as bob, sign_in(live, "carol", BOB) as carol:
            bob_csrf = csrf_of(bob)
            assert bob.get("/api/agents").status_code == 403
            refused = carol.post("/api/agents/bob/admin", json={"admin": True},
                                 headers=csrf_of(carol))
            assert refused.status_code == 403  # only an admin makes admins

            made = admin.post("/api/agents/bob/admin", json={"admin": True}, headers=csrf)
            assert made.status_code == 200, made.text
            assert made.json()["agent"]["admin"] is True
            assert bob.get("/api/agents").status_code == 200  # at once, same session
            again = admin.post("/api/agents/Bob/admin", json={"admin": True}, headers=csrf)
            assert again.status_code == 200 and again.json()["agent"]["admin"] is True

            for body, status, code in (({"admin": "yes"}, 400, "bad_parameter"),
                                       ({}, 400, "bad_parameter")):
                bad = admin.post("/api/agents/bob/admin", json=body, headers=csrf)
                assert (bad.status_code, bad.json()["error"]["code"]) == (status, code)
            ghost = admin.post("/api/agents/ghost/admin", json={"admin": True}, headers=csrf)
            assert (ghost.status_code, ghost.json()["error"]["code"]) == (404, "unknown_agent")

            # bob takes admin from the first admin, then cannot drop his own: he is the
            # last enabled admin.
            dropped = bob.post("/api/agents/admin/admin", json={"admin": False},
                               headers=bob_csrf)
            assert dropped.status_code == 200 and dropped.json()["agent"]["admin"] is False
            assert admin.get("/api/agents").status_code == 403
            last = bob.post("/api/agents/bob/admin", json={"admin": False}, headers=bob_csrf)
            assert (last.status_code, last.json()["error"]["code"]) == (409, "last_admin")
            assert bob.get("/api/me").json()["agent"]["admin"] is True
            log = bob.get("/api/events", params={"limit": 500}).json()["events"]
    changes = [(e["data"], e["actor"], e["stream"]) for e in log
               if e["type"] == "agent.admin_changed"]
    assert changes == [({"name": "bob", "admin": True}, "agent:admin", "agent:bob"),
                       ({"name": "admin", "admin": False}, "agent:bob", "agent:admin")]

    # The CLI: the same event with the actor system; refusals exit 1.
    on = crm(live, "users", "admin", "admin", "--on")
    assert on.returncode == 0, on.stderr
    with sign_in(live, "admin", ADMIN_PASSWORD) as admin:
        assert admin.get("/api/me").json()["agent"]["admin"] is True
    assert crm(live, "users", "admin", "ghost", "--on").returncode == 1
    listing = crm(live, "users", "list").stdout.splitlines()
    assert next(line for line in listing if line.startswith("admin ")).endswith("  admin")
    checked = crm(live, "replay", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_admins_demoting_themselves_at_once_leave_exactly_one(live: LiveServer) -> None:
    """The last-admin check and its event are one transaction: racing demotions (every
    admin drops their own flag at the same moment) leave exactly one admin, not none."""
    from crm.auth.local import create_token
    from crm.config import Settings

    admin = admin_headers(live)
    for name in ("dana", "eli", "fay", "gus"):
        create_agent(live, admin, name, BOB, is_admin=True)
    with live.client(headers=admin) as http:
        admins = [a["name"] for a in http.get("/api/agents").json()["agents"]
                  if a["admin"] and not a["disabled"]]
    assert len(admins) >= 5
    tokens = {name: create_token(Settings(data_dir=live.data_dir), name, "race")[0]
              for name in admins}

    def demote(name: str) -> int:
        with live.client(headers={"Authorization": f"Bearer {tokens[name]}"}) as http:
            return http.post(f"/api/agents/{name}/admin", json={"admin": False}).status_code

    with ThreadPoolExecutor(len(admins)) as pool:
        statuses = sorted(pool.map(demote, admins))
    assert statuses == [200] * (len(admins) - 1) + [409], statuses
    listing = crm(live, "users", "list").stdout.splitlines()
    left = [line.split()[0] for line in listing if line.rstrip().endswith("admin")]
    assert len(left) == 1, listing
