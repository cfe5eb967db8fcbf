"""Sign-in limits behind a real forwarding proxy on 127.0.0.1 (``CRM_TRUSTED_PROXIES``):
failures count against the client the proxy forwarded for, so one attacker cannot
lock anyone else out, and forwarded headers are believed from the proxy only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth_support import create_agent, form_token, post_login
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers, start_server, wait_until
from tests.proxy_support import forwarding_proxy


class Proxied:
    def __init__(self, server: LiveServer, proxy: str, log: Path) -> None:
        self.server, self.proxy, self.log = server, proxy, log

    def via_proxy(self, address: str) -> httpx.Client:
        """A browser at ``address`` (127.0.0.0/8) that reaches crm through the proxy."""
        return httpx.Client(base_url=self.proxy, timeout=30,
                            transport=httpx.HTTPTransport(local_address=address))

    def direct(self, address: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=30,
                            transport=httpx.HTTPTransport(local_address=address))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    root = tmp_path_factory.mktemp("proxied")
    data = root / "data"
    data.mkdir()
    log = root / "server.log"
    with log.open("wb") as stderr:
        server = start_server(data, stderr=stderr, CRM_TRUSTED_PROXIES="127.0.0.1/32, ::1")
    try:
        with forwarding_proxy(root / "proxy", server.port) as url:
            yield Proxied(server, url, log)
    finally:
        server.stop()


def test_an_attacker_cannot_lock_out_another_address(proxied: Proxied) -> None:
    create_agent(proxied.server, admin_headers(proxied.server), "vera", "vera-password-1")
    with proxied.via_proxy("127.0.0.50") as attacker:
        answers = [post_login(attacker, "vera", f"guess-{i}").status_code for i in range(12)]
        assert answers == [401] * 10 + [429] * 2
        for i in range(3):  # and names of its choosing: the address is spent
            assert post_login(attacker, f"name{i}", "whatever-1").status_code == 429
        assert post_login(attacker, "vera", "vera-password-1").status_code == 429
    for address in ("127.0.0.51", "127.0.0.52"):
        with proxied.via_proxy(address) as victim:
            assert post_login(victim, "vera", "vera-password-1").status_code == 303
            assert victim.get("/api/me").json()["agent"]["name"] == "vera"
    with proxied.via_proxy("127.0.0.53") as other:
        assert post_login(other, "admin", ADMIN_PASSWORD).status_code == 303
    text = wait_until(lambda: "from 127.0.0.50" in proxied.log.read_text()
                      and proxied.log.read_text(), message="the attacker's address logged")
    assert "for 'vera' from 127.0.0.50" in text  # the client's address, not the proxy's


def test_a_name_attacked_from_many_addresses_admits_the_right_password_slowly(
        proxied: Proxied) -> None:
    create_agent(proxied.server, admin_headers(proxied.server), "wendy", "wendy-password-1")
    for i in range(10):
        with proxied.via_proxy(f"127.0.1.{10 + i}") as http:
            assert post_login(http, "wendy", f"guess-{i}").status_code == 401
    with proxied.via_proxy("127.0.1.10") as failed_before:
        assert post_login(failed_before, "wendy", "wendy-password-1").status_code == 429
    with proxied.via_proxy("127.0.1.40") as clean:
        token = form_token(clean.get("/login").text)
        started = time.monotonic()
        answer = clean.post("/login", data={"username": "wendy",
                                            "password": "wendy-password-1",
                                            "csrf_token": token})
        elapsed = time.monotonic() - started
        assert answer.status_code == 303
        assert elapsed >= 1.0  # slowed down by the name's backoff, never refused


def test_forwarded_headers_are_believed_from_the_proxy_only(proxied: Proxied) -> None:
    # Straight to crm from an untrusted address: a made-up X-Forwarded-For per try
    # does not make ten addresses out of one.
    with proxied.direct("127.0.0.90") as http:
        for i in range(10):
            page = http.get("/login")
            answer = http.post("/login", headers={"X-Forwarded-For": f"10.9.9.{i}"},
                               data={"username": f"nobody{i}", "password": "x",
                                     "csrf_token": form_token(page.text)})
            assert answer.status_code == 401
        assert post_login(http, "admin", ADMIN_PASSWORD).status_code == 429
        page = http.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" not in page.headers["set-cookie"]
    # The proxy itself (127.0.0.1, trusted) may say the client came over https.
    with proxied.direct("127.0.0.1") as http:
        page = http.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in page.headers["set-cookie"]
    # A client cannot choose its address by sending X-Forwarded-For through the proxy:
    # crm takes the address the proxy saw (the right-most untrusted hop).
    with proxied.via_proxy("127.0.0.91") as http:
        page = http.get("/login")
        answer = http.post("/login", headers={"X-Forwarded-For": "127.0.0.53"},
                           data={"username": "admin", "password": "wrong-one",
                                 "csrf_token": form_token(page.text)})
        assert answer.status_code == 401
    wait_until(lambda: "for 'admin' from 127.0.0.91" in proxied.log.read_text(),
               message="the failure logged against the proxy's client")
