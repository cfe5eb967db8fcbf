"""Helpers for tests that sign in like a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import LiveServer, start_server

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, "the page has no csrf_token field"
    return match.group(1)


def post_login(http: httpx.Client, username: str, password: str,
               **extra: str) -> httpx.Response:
    """Load the sign-in page (for its CSRF token and cookie) and submit the form."""
    page = http.get("/login")
    assert page.status_code == 200, page.text
    return http.post("/login", data={"username": username, "password": password,
                                     "csrf_token": form_token(page.text), **extra})


@contextmanager
def sign_in(server: LiveServer, username: str, password: str,
            **client_args) -> Iterator[httpx.Client]:
    """A client holding a signed-in agent's session cookie."""
    with server.client(**client_args) as http:
        response = post_login(http, username, password)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/"
        yield http


def csrf_of(http: httpx.Client) -> dict[str, str]:
    """The header that lets a signed-in browser change state."""
    token = http.get("/api/me").json()["csrf_token"]
    assert token
    return {"X-CSRF-Token": token}


def create_agent(server: LiveServer, admin: dict[str, str], name: str, password: str,
                 is_admin: bool = False) -> None:
    with server.client(headers=admin) as http:
        answer = http.post("/api/agents", json={"name": name, "password": password,
                                                "admin": is_admin})
        assert answer.status_code == 201, answer.text


def create_token(server: LiveServer, admin: dict[str, str], agent: str,
                 label: str | None = None) -> tuple[str, str]:
    with server.client(headers=admin) as http:
        answer = http.post("/api/tokens", json={"agent": agent, "label": label})
        assert answer.status_code == 201, answer.text
        body = answer.json()
    return body["secret"], body["token"]["id"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def module_server(factory: pytest.TempPathFactory, name: str, *args: str,
                  **env: str) -> Iterator[LiveServer]:
    """A server shared by a module's tests: ``yield from`` it in a fixture."""
    data = factory.mktemp(name) / "data"
    data.mkdir()
    server = start_server(data, *args, **env)
    yield server
    server.stop()
