"""Requests from other sites' pages, and what browsers may keep: a state-changing
request with a foreign ``Origin`` or ``Sec-Fetch-Site: cross-site`` is refused even
with the session's CSRF token; API answers are ``no-store``; media is revalidated."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crm.media.local import LocalMediaStore
from tests.auth_support import bearer, create_token, csrf_of, form_token, module_server, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers
from tests.media_support import PNG


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "cross-site")


def add_agent(http: httpx.Client, name: str, **headers: str) -> httpx.Response:
    return http.post("/api/agents", headers=headers,
                     json={"name": name, "password": f"{name}-password-1", "admin": False})


def test_a_foreign_origin_cannot_change_anything_even_with_the_csrf_token(
        live: LiveServer) -> None:
    with sign_in(live, "admin", ADMIN_PASSWORD) as http:
        token = csrf_of(http)["X-CSRF-Token"]
        ours = live.url
        for i, headers in enumerate((
                {"Origin": "http://evil.example"},
                {"Origin": "null"},
                {"Origin": "http://127.0.0.1.evil.example:" + str(live.port)},
                {"Origin": "not a url"},
                {"Sec-Fetch-Site": "cross-site"},
                {"Origin": ours, "Sec-Fetch-Site": "cross-site"})):
            refused = add_agent(http, f"foreign{i}", **{"X-CSRF-Token": token, **headers})
            assert refused.status_code == 403, headers
            assert refused.json()["error"]["code"] == "cross_site"
        names = {a["name"] for a in http.get("/api/agents").json()["agents"]}
        assert not {n for n in names if n.startswith("foreign")}
        # The inbox's own page: same origin (or no header at all), with the token.
        assert add_agent(http, "ours1", **{"X-CSRF-Token": token, "Origin": ours,
                                           "Sec-Fetch-Site": "same-origin"}).status_code == 201
        assert add_agent(http, "ours2", **{"X-CSRF-Token": token}).status_code == 201
        # Signing out from another site's form is refused too.
        page = http.get("/")
        out = http.post("/logout", data={"csrf_token": form_token(page.text)},
                        headers={"Origin": "http://evil.example"})
        assert out.status_code == 403
        assert http.get("/api/me").status_code == 200


def test_sign_in_from_another_site_is_refused(live: LiveServer) -> None:
    with live.client() as http:
        token = form_token(http.get("/login").text)
        answer = http.post("/login", headers={"Sec-Fetch-Site": "cross-site"},
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token})
        assert answer.status_code == 403
        assert "crm_session" not in http.cookies


def test_bearer_requests_without_those_headers_keep_working(live: LiveServer) -> None:
    secret, _ = create_token(live, admin_headers(live), "admin", "script")
    with live.client(headers=bearer(secret)) as api:
        assert add_agent(api, "scripted").status_code == 201


def test_api_answers_are_never_stored_and_media_is_revalidated(live: LiveServer) -> None:
    stored = LocalMediaStore.for_data_dir(live.data_dir).put(PNG, "image/png", "kayak.png")
    with live.client() as anonymous:
        assert anonymous.get("/api/chats").headers["cache-control"] == "no-store"
    with sign_in(live, "admin", ADMIN_PASSWORD) as http:
        for path in ("/api/me", "/api/chats", "/api/events", "/api/agents"):
            assert http.get(path).headers["cache-control"] == "no-store", path
        assert http.get("/api/chats/0000").headers["cache-control"] == "no-store"  # a 404
        media = http.get(f"/media/{stored.id}")
        assert media.status_code == 200 and media.content == PNG
        assert media.headers["cache-control"] == "private, no-cache"
        etag = media.headers["etag"]
        again = http.get(f"/media/{stored.id}", headers={"If-None-Match": etag})
        assert again.status_code == 304
