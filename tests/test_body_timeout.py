"""A client that sends its body slowly is cut off after 10 s on the public routes
(issue #13, 7): Quart's 60 s would let a few hundred slow senders hold the server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from crm.api.send import ANONYMOUS_BODY_TIMEOUT
from tests.conftest import LiveServer, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("body") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, WHATSAPP_APP_SECRET="body-timeout-secret")
    yield server
    server.stop()


def slow_post(port: int, path: str, content_type: str, headers: str = "") -> tuple[float, bytes]:
    """Send the headers and a tenth of the body, then nothing: (seconds until the server
    answered or closed, what it answered)."""
    with socket.create_connection(("127.0.0.1", port), timeout=90) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Content-Type: {content_type}\r\nContent-Length: 1000\r\n{headers}"
                      "\r\n").encode() + b"x" * 100)
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        return time.monotonic() - started, answer


def test_slow_anonymous_bodies_are_cut_off_after_ten_seconds(live: LiveServer) -> None:
    assert ANONYMOUS_BODY_TIMEOUT == 10
    cases = {"webhook": ("/webhook/whatsapp", "application/json", ""),
             "login form": ("/login", "application/x-www-form-urlencoded",
                            "Cookie: crm_login=" + "t" * 43 + "\r\n"),
             "login json": ("/login", "application/json", ""),
             # Credentials do not buy a longer wait on a public route.
             "webhook with a bearer": ("/webhook/whatsapp", "application/json",
                                       "Authorization: Bearer made-up\r\n")}
    results: dict[str, tuple[float, bytes]] = {}

    def run(name: str) -> None:
        results[name] = slow_post(live.port, *cases[name])

    threads = [threading.Thread(target=run, args=(name,)) for name in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert set(results) == set(cases)
    for name, (took, answer) in results.items():
        assert ANONYMOUS_BODY_TIMEOUT - 0.5 < took < ANONYMOUS_BODY_TIMEOUT + 5, (name, took)
        assert answer.startswith(b"HTTP/1.1 408"), (name, answer[:200])
