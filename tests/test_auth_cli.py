"""``crm users`` / ``crm tokens`` beside a running server, the first admin, the actor."""

from __future__ import annotations

import hashlib
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from itsdangerous import Signer

from crm.events import EventStore
from tests.auth_support import bearer, csrf_of, module_server, post_login, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer, crm_env, start_server, wait_until


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "cli")


def crm(server: LiveServer, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], input=stdin,
                          capture_output=True, text=True, env=server.env,
                          cwd=str(server.data_dir.parent), timeout=60)


def events_of(db_path: Path, stream: str) -> list:
    store = EventStore(db_path)
    try:
        return store.read_stream(stream)
    finally:
        store.close()


def database_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("crm.db*"))


def test_users_and_tokens_from_the_command_line(live: LiveServer) -> None:
    added = crm(live, "users", "add", "Bob", "--password-stdin", stdin="bob-secret-one\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "" and "created agent 'bob'" in added.stderr
    again = crm(live, "users", "add", "bob", "--password-stdin", stdin="whatever-else\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    no_tty = crm(live, "users", "add", "carl", stdin="carl-password\n")
    assert no_tty.returncode == 1 and "--password-stdin" in no_tty.stderr
    assert crm(live, "users", "add", "carol", "--admin", "--password-stdin",
               stdin="carol-secret-1\n").returncode == 0

    listed = crm(live, "users", "list").stdout.splitlines()
    rows = {line.split()[0]: line for line in listed}
    assert set(rows) == {"admin", "bob", "carol"}
    assert rows["carol"].endswith("admin") and not rows["bob"].endswith("admin")

    with sign_in(live, "bob", "bob-secret-one") as http:  # the running server sees bob
        assert http.get("/api/me").json()["agent"]["admin"] is False

    created = crm(live, "tokens", "create", "bob", "--label", "ci bot")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith("crm_") and len(token) > 40
    assert "shown only this once" in created.stderr
    with live.client(headers=bearer(token)) as api:
        assert api.get("/api/me").json()["agent"]["actor"] == "agent:bob"
        line = next(x for x in crm(live, "tokens", "list").stdout.splitlines() if "ci bot" in x)
        token_id = line.split()[0]
        assert line.split()[1] == "bob" and " live " in line
        revoked = crm(live, "tokens", "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        assert api.get("/api/me").status_code == 401
    assert "revoked" in next(x for x in crm(live, "tokens", "list").stdout.splitlines()
                             if x.startswith(token_id))
    assert crm(live, "tokens", "revoke", token_id).returncode == 1
    assert crm(live, "tokens", "revoke", "no-such-id").returncode == 1

    with sign_in(live, "bob", "bob-secret-one") as http:
        changed = crm(live, "users", "passwd", "bob", "--password-stdin",
                      stdin="bob-secret-two\n")
        assert changed.returncode == 0, changed.stderr
        assert http.get("/api/me").status_code == 401  # the old session ended
    with live.client() as http:
        assert post_login(http, "bob", "bob-secret-one").status_code == 401
    with sign_in(live, "bob", "bob-secret-two"):
        pass
    assert crm(live, "users", "disable", "bob").returncode == 0
    assert "disabled" in next(x for x in crm(live, "users", "list").stdout.splitlines()
                              if x.startswith("bob "))
    with live.client() as http:
        assert post_login(http, "bob", "bob-secret-two").status_code == 401
    assert crm(live, "users", "disable", "ghost").returncode == 1

    history = events_of(live.db_path, "agent:bob")
    assert [e.type for e in history] == ["agent.created", "token.created", "token.revoked",
                                         "agent.password_changed", "agent.disabled"]
    assert {e.actor for e in history} == {"system"}
    assert history[0].data["password_hash"].startswith("$argon2id$")
    assert history[1].data["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    stored = database_bytes(live.data_dir)
    for secret in ("bob-secret-one", "bob-secret-two", token):
        assert secret.encode() not in stored  # only hashes reach the database


def test_api_changes_record_the_admin_as_actor(live: LiveServer) -> None:
    with sign_in(live, "admin", ADMIN_PASSWORD) as http:
        csrf = csrf_of(http)
        created = http.post("/api/tokens", json={"agent": "admin", "label": "actor"},
                            headers=csrf)
        assert created.status_code == 201
        secret, token = created.json()["secret"], created.json()["token"]
        assert token["created_by"] == "agent:admin" and "sha256" not in token
        assert http.delete(f"/api/tokens/{token['id']}", headers=csrf).status_code == 200
        assert http.delete(f"/api/tokens/{token['id']}", headers=csrf).status_code == 409
        listed = {t["id"]: t for t in http.get("/api/tokens").json()["tokens"]}
        assert listed[token["id"]]["revoked_by"] == "agent:admin"
        log = http.get("/api/events", params={"limit": 200}).json()["events"]
    mine = [e for e in log if e["data"].get("token_id") == token["id"]]
    assert [(e["type"], e["actor"], e["stream"]) for e in mine] == [
        ("token.created", "agent:admin", "agent:admin"),
        ("token.revoked", "agent:admin", "agent:admin")]
    assert mine[0]["data"]["sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(log)
    with live.client(headers=bearer(secret)) as api:
        assert api.get("/api/me").status_code == 401


def test_first_start_creates_admin_with_a_random_password_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = crm_env(data, CRM_ADMIN_PASSWORD="")
    first_log = tmp_path / "first.log"
    with first_log.open("wb") as stderr:
        server = start_server(data, env=env, stderr=stderr)
    try:
        match = wait_until(lambda: re.search(r"its password is in (\S+) \(mode 600\)",
                                             first_log.read_text()),
                           message="where the first admin's password is, on standard error")
        password_file = Path(match.group(1))
        assert password_file == data / "first_admin_password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert password != ADMIN_PASSWORD and len(password) >= 16
        assert password not in first_log.read_text()  # never in the journal
        with sign_in(server, "admin", password) as http:
            assert http.get("/api/me").json()["agent"]["admin"] is True
        key = data / "secret_key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    finally:
        server.stop()
    second_log = tmp_path / "second.log"
    with second_log.open("wb") as stderr:
        again = start_server(data, env=env, stderr=stderr)
    again.stop()
    assert "created the admin" not in second_log.read_text()
    created = [e for e in events_of(data / "crm.db", "agent:admin") if e.type == "agent.created"]
    assert len(created) == 1 and created[0].actor == "system"
    assert password.encode() not in database_bytes(data)


def test_a_configured_secret_key_is_used_and_not_stored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    server = start_server(data, CRM_SECRET_KEY="k" * 40)
    try:
        with sign_in(server, "admin", ADMIN_PASSWORD) as http:
            session_id = http.cookies["crm_session"].rsplit(".", 1)[0]
        for key, status in (("k" * 40, 200), ("x" * 40, 401)):
            cookie = Signer(key, salt="crm.session").sign(session_id).decode()
            with server.client(cookies={"crm_session": cookie}) as http:
                assert http.get("/api/me").status_code == status, key
        assert not (data / "secret_key").exists()
    finally:
        server.stop()


def test_sessions_and_tokens_work_across_workers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    server = start_server(data, "--workers", "2")
    try:
        with sign_in(server, "admin", ADMIN_PASSWORD) as http:
            headers = csrf_of(http)
            for _ in range(12):  # new connections land on either worker
                with server.client(cookies=dict(http.cookies)) as other:
                    assert other.get("/api/me").status_code == 200
                    made = other.post("/api/tokens", json={"agent": "admin"}, headers=headers)
                    assert made.status_code == 201
        assert len(list(data.glob("secret_key"))) == 1
    finally:
        server.stop()
