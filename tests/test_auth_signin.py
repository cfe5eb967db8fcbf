"""Signing in and out through the real pages, sessions, CSRF and who may do what."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth_support import (
    bearer,
    create_agent,
    create_token,
    csrf_of,
    form_token,
    module_server,
    post_login,
    sign_in,
)
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The tests' client is on 127.0.0.1, as a reverse proxy on the same machine is.
    yield from module_server(tmp_path_factory, "signin", CRM_TRUSTED_PROXIES="127.0.0.1")


def test_sign_in_shows_the_agent_and_sign_out_ends_the_session(live: LiveServer) -> None:
    with live.client() as http:
        page = http.get("/login")
        assert page.status_code == 200
        assert 'name="username"' in page.text and 'name="password"' in page.text
        signed = http.post("/login", data={"username": "Admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": form_token(page.text)})
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("crm_session=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        stolen = http.cookies["crm_session"]

        home = http.get("/")
        assert home.status_code == 200
        assert '<strong id="agent-name">admin</strong>' in home.text
        assert 'action="/logout"' in home.text
        me = http.get("/api/me").json()
        assert me["agent"] == {"name": "admin", "admin": True, "actor": "agent:admin",
                               "via": "session"}
        assert http.get("/login").headers["location"] == "/"  # already signed in

        out = http.post("/logout", data={"csrf_token": form_token(home.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "crm_session" not in http.cookies
        assert http.get("/").headers["location"].startswith("/login")

    with live.client(cookies={"crm_session": stolen}) as replay:
        assert replay.get("/api/me").status_code == 401  # the session ended on the server
        assert replay.get("/").status_code == 302


def test_session_cookie_is_secure_behind_an_https_proxy(live: LiveServer) -> None:
    with live.client() as http:
        token = form_token(http.get("/login").text)
        signed = http.post("/login", headers={"X-Forwarded-Proto": "https"},
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token})
        assert signed.status_code == 303
        assert "Secure" in signed.headers["set-cookie"]
        assert "Secure" in http.get("/login", headers={"X-Forwarded-Proto": "https"}
                                    ).headers["set-cookie"]


def test_wrong_password_and_unknown_name_are_refused(live: LiveServer) -> None:
    with live.client() as http:
        for name, password in (("admin", "not-the-password"), ("nobody", ADMIN_PASSWORD),
                               ("admin", "")):
            answer = post_login(http, name, password)
            assert answer.status_code == 401
            assert "Wrong name or password" in answer.text
            assert "crm_session" not in http.cookies
        assert http.get("/api/me").status_code == 401
        json_answer = http.post("/login", json={"username": "admin", "password": "nope"})
        assert json_answer.status_code == 401
        assert json_answer.json()["error"]["code"] == "unauthorized"


def test_json_sign_in_returns_the_csrf_token(live: LiveServer) -> None:
    with live.client() as http:
        answer = http.post("/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert answer.status_code == 200
        body = answer.json()
        assert body["agent"]["name"] == "admin" and body["csrf_token"]
        assert http.get("/api/me").json()["csrf_token"] == body["csrf_token"]


def test_a_json_sign_in_that_is_not_utf8_is_refused_not_a_500(live: LiveServer) -> None:
    with live.client() as http:
        answer = http.post("/login", content=b'{"username": "\xff\xfe"}',
                           headers={"Content-Type": "application/json"})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"


def test_sign_in_form_without_its_csrf_token_is_refused(live: LiveServer) -> None:
    with live.client() as http:
        http.get("/login")
        answer = http.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
        assert answer.status_code == 403
        forged = http.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": "made-up"})
        assert forged.status_code == 403
        assert "crm_session" not in http.cookies


def test_cookie_requests_that_change_state_need_the_csrf_token(live: LiveServer) -> None:
    with sign_in(live, "admin", ADMIN_PASSWORD) as http:
        refused = http.post("/api/tokens", json={"agent": "admin", "label": "no csrf"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf"
        wrong = http.post("/api/tokens", json={"agent": "admin"},
                          headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        assert http.post("/logout").status_code == 403
        assert http.get("/api/me").status_code == 200  # still signed in

        allowed = http.post("/api/tokens", json={"agent": "admin", "label": "with csrf"},
                            headers=csrf_of(http))
        assert allowed.status_code == 201
    # Bearer tokens are not sent by browsers on their own: no CSRF token needed.
    with live.client(headers=admin_headers(live)) as api:
        assert api.post("/api/tokens", json={"agent": "admin"}).status_code == 201


def test_disabled_agent_loses_sessions_and_tokens(live: LiveServer) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "dora", "dora-password-1")
    token, _ = create_token(live, admin, "dora", "dora's script")
    with sign_in(live, "dora", "dora-password-1") as browser, \
            live.client(headers=bearer(token)) as script:
        assert browser.get("/api/me").json()["agent"]["name"] == "dora"
        assert script.get("/api/chats").status_code == 200
        with live.client(headers=admin) as http:
            disabled = http.post("/api/agents/dora/disable")
            assert disabled.status_code == 200 and disabled.json()["agent"]["disabled"]
            assert http.post("/api/agents/dora/disable").status_code == 409
        assert browser.get("/api/me").status_code == 401
        assert browser.get("/", follow_redirects=False).status_code == 302
        assert script.get("/api/chats").status_code == 401
    with live.client() as http:
        assert post_login(http, "dora", "dora-password-1").status_code == 401


def test_new_password_ends_old_sessions(live: LiveServer) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "pete", "pete-password-1")
    with sign_in(live, "pete", "pete-password-1") as browser:
        with live.client(headers=admin) as http:
            changed = http.post("/api/agents/pete/password", json={"password": "pete-pw-two"})
            assert changed.status_code == 200
            assert changed.json()["agent"]["password_changed_at"]
        assert browser.get("/api/me").status_code == 401
    with live.client() as http:
        assert post_login(http, "pete", "pete-password-1").status_code == 401
    with sign_in(live, "pete", "pete-pw-two") as browser:
        assert browser.get("/api/me").status_code == 200


def test_only_admins_manage_agents_and_tokens(live: LiveServer) -> None:
    admin = admin_headers(live)
    create_agent(live, admin, "nora", "nora-password-1")
    token, token_id = create_token(live, admin, "nora")
    with live.client(headers=bearer(token)) as nora:
        assert nora.get("/api/me").json()["agent"] == {
            "name": "nora", "admin": False, "actor": "agent:nora", "via": "token"}
        for method, path, body in (
            ("GET", "/api/agents", None),
            ("POST", "/api/agents", {"name": "eve", "password": "eve-password-1"}),
            ("POST", "/api/agents/admin/disable", None),
            ("POST", "/api/agents/admin/password", {"password": "taken-over"}),
            ("GET", "/api/tokens", None),
            ("POST", "/api/tokens", {"agent": "nora"}),
            ("DELETE", f"/api/tokens/{token_id}", None),
        ):
            answer = nora.request(method, path, json=body)
            assert answer.status_code == 403, (method, path)
            assert answer.json()["error"]["code"] == "forbidden"
    with live.client(headers=admin) as http:
        names = {a["name"]: a for a in http.get("/api/agents").json()["agents"]}
        assert "eve" not in names and not names["admin"]["disabled"]


def test_agent_api_refuses_bad_input(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        create = http.post("/api/agents", json={"name": "Omar", "password": "omar-password"})
        assert create.status_code == 201 and create.json()["agent"]["name"] == "omar"
        again = http.post("/api/agents", json={"name": "omar", "password": "omar-password"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "agent_exists"
        for body, code in (({"name": "bad name!", "password": "long-enough"}, "bad_name"),
                           ({"name": "ok", "password": "short"}, "weak_password"),
                           ({"name": "ok"}, "bad_parameter"),
                           ({"name": "ok", "password": "long-enough", "admin": "yes"},
                            "bad_parameter")):
            answer = http.post("/api/agents", json=body)
            assert answer.status_code == 400 and answer.json()["error"]["code"] == code
        assert http.post("/api/agents/ghost/disable").status_code == 404
        assert http.post("/api/tokens", json={"agent": "ghost"}).status_code == 404
        assert http.delete("/api/tokens/nope").status_code == 404


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(live: LiveServer) -> None:
    with live.client() as http:
        bounced = http.get("/api/chats", headers={"Accept": "text/html"})
        assert bounced.status_code == 401  # the API answers JSON, never a redirect
        assert http.get("/?x=1", follow_redirects=False).headers["location"] == \
            "/login?next=/%3Fx%3D1"
        page = http.get("/login", params={"next": "//evil.example/"})
        assert 'name="next" value="/"' in page.text
        answer = post_login(http, "admin", ADMIN_PASSWORD, next="/api/me")
        assert answer.status_code == 303 and answer.headers["location"] == "/api/me"


def test_password_hashes_never_leave_over_http(live: LiveServer) -> None:
    from crm.auth.identity import Agent
    from crm.auth.redact import REDACTED, visible_event
    from crm.events.store import open_connection, read_after

    with live.client(headers=admin_headers(live)) as http:
        shown = http.get("/api/events", params={"limit": 200}).json()["events"]
    assert all(e["data"]["password_hash"] == REDACTED
               for e in shown if e["type"] == "agent.created")  # admins included
    conn = open_connection(live.db_path, readonly=True)
    events = [e.as_json() for e in read_after(conn, 0, 200)]
    conn.close()
    created = next(e for e in events if e["type"] == "agent.created")
    assert created["data"]["password_hash"].startswith("$argon2id$")
    agent = Agent(name="nora", admin=False, via="token")
    admin = Agent(name="admin", admin=True, via="token")
    assert visible_event(created, admin) is created
    hidden = visible_event(created, agent)
    assert hidden["data"]["password_hash"] == REDACTED and hidden["data"]["name"] == "admin"
    assert created["data"]["password_hash"] != REDACTED  # the original is untouched
    token_event = next(e for e in events if e["type"] == "token.created")
    assert visible_event(token_event, agent) is token_event


def test_a_second_login_page_does_not_expire_the_first(server: LiveServer) -> None:
    from tests.auth_support import form_token

    with server.client() as http:
        first = form_token(http.get("/login").text)
        http.get("/favicon-that-redirects-to-login")  # a background request, redirected
        http.get("/login")  # a second tab
        answer = http.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": first})
    assert answer.status_code in (302, 303), answer.text
