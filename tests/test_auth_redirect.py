"""Where the sign-in page sends a signed-in agent: ``next`` only if it is a path on
this site as a browser reads it (WHATWG's stripping rules), else ``/``; never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from crm.api.login import safe_next
from tests.auth_support import form_token, module_server, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.redirect_cases import CASES


@pytest.mark.parametrize(("target", "expected"), CASES)
def test_safe_next(target: str, expected: str) -> None:
    assert safe_next(target) == expected


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "redirect")


@pytest.fixture(scope="module")
def signed_in(live: LiveServer) -> Iterator[httpx.Client]:
    with sign_in(live, "admin", ADMIN_PASSWORD) as http:
        yield http


def test_a_signed_in_agent_is_never_sent_off_site(signed_in: httpx.Client) -> None:
    wrong = []
    for target, expected in CASES:
        answer = signed_in.get("/login", params={"next": target})
        if (answer.status_code, answer.headers.get("location")) != (302, expected):
            wrong.append((target, answer.status_code, answer.headers.get("location")))
    assert wrong == []


def test_the_form_keeps_only_a_safe_next(live: LiveServer) -> None:
    for target, expected in (("/\t/evil.example/x", "/"), ("/inbox", "/inbox"),
                             ("/x\x01y", "/")):
        with live.client() as http:
            page = http.get("/login", params={"next": target})
            assert page.status_code == 200
            answer = http.post("/login", data={"username": "admin",
                                               "password": ADMIN_PASSWORD,
                                               "next": target,
                                               "csrf_token": form_token(page.text)})
            assert answer.status_code == 303
            assert answer.headers["location"] == expected
