"""The sandbox is for trying crm, never a door into a production server (issue #13, 1).

It starts only with no ``WHATSAPP_*`` setting at all (or ``CRM_SANDBOX=on``), signs
only with its own generated secret, its control API needs the token from the data
folder, and the server says loudly, on stderr and in ``/healthz``, that it runs
against it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, admin_headers, start_server, wait_until

REAL_SECRET = "the-real-meta-app-secret"


class Capture(ThreadingHTTPServer):
    """Stands where the server would be, and keeps every signed POST it gets."""

    daemon_threads = True

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        super().__init__(("127.0.0.1", 0), _CaptureHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhook/whatsapp"


class _CaptureHandler(BaseHTTPRequestHandler):
    server: Capture

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.headers.get("X-Hub-Signature-256", ""), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture()
    yield server
    server.shutdown()
    server.server_close()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def crm(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], env=server.env,
                          capture_output=True, text=True, timeout=30)


def test_a_deployer_with_some_whatsapp_settings_gets_no_sandbox(data_dir: Path) -> None:
    # The access token mistyped (or forgotten): the rest says "this is for Meta".
    log = data_dir.parent / "stderr.txt"
    with log.open("w") as err:
        server = start_server(data_dir, CRM_SANDBOX="auto", WHATSAPP_APP_SECRET=REAL_SECRET,
                              WHATSAPP_VERIFY_TOKEN="verify-me", stderr=err)
    try:
        assert not (data_dir / "sandbox.json").exists()
        assert not (data_dir / "sandbox_control_token").exists()
        facts = httpx.get(server.url + "/healthz", headers=admin_headers(server),
                          timeout=5).json()
        assert facts["sandbox"] is False
        assert facts["channel"]["mode"] == "off"
        said = crm(server, "simulate", "--from", "85291234567", "--text", "forged?")
        assert said.returncode == 1 and "start crm serve first" in said.stderr
    finally:
        server.stop()
    assert "WARNING" not in log.read_text()


def test_the_control_api_needs_the_token_and_says_so(data_dir: Path) -> None:
    log = data_dir.parent / "stderr.txt"
    with log.open("w") as err:
        server = start_server(data_dir, CRM_SANDBOX="auto", stderr=err)
    try:
        control = json.loads((data_dir / "sandbox.json").read_text())["control"]
        path = data_dir / "sandbox_control_token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = path.read_text().strip()
        assert len(token) >= 32
        for method, route in (("GET", "state"), ("GET", "messages"), ("GET", "webhooks"),
                              ("POST", "behaviour"), ("POST", "inbound"), ("POST", "reset")):
            url = f"{control}/_sandbox/{route}"
            assert httpx.request(method, url, json={}, timeout=5).status_code == 401
            wrong = httpx.request(method, url, json={}, timeout=5,
                                  headers={"Authorization": "Bearer " + "x" * len(token)})
            assert wrong.status_code == 403
        right = httpx.get(f"{control}/_sandbox/state", timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and "faults" in right.json()

        # The commands read the token and still work.
        told = crm(server, "sandbox", "fail-next", "131026")
        assert told.returncode == 0, told.stderr
        assert json.loads(crm(server, "sandbox", "state").stdout)["faults"]["messages"]
        said = crm(server, "simulate", "--from", "85291234567", "--name", "Ana",
                   "--text", "hello")
        assert said.returncode == 0, said.stderr
        with server.client(headers=admin_headers(server)) as http:
            assert http.get("/api/chats/85291234567").json()["chat"]["name"] == "Ana"
            facts = http.get("/healthz").json()
        assert facts["sandbox"] is True
        assert "sandbox" not in httpx.get(server.url + "/healthz", timeout=5).json()
    finally:
        server.stop()
    warning = [line for line in log.read_text().splitlines() if "WARNING" in line]
    assert warning and "sandbox" in warning[0] and "not Meta" in warning[0]


def test_forged_messages_are_never_signed_with_the_real_app_secret(
        data_dir: Path, capture: Capture) -> None:
    # CRM_SANDBOX=on beside Meta's settings: the sandbox still signs with its own secret.
    server = start_server(data_dir, CRM_SANDBOX="on", WHATSAPP_APP_SECRET=REAL_SECRET,
                          WHATSAPP_VERIFY_TOKEN="verify-me",
                          WHATSAPP_ACCESS_TOKEN="a-real-access-token")
    try:
        own = (data_dir / "sandbox_secret").read_text().strip()
        assert own != REAL_SECRET
        control = json.loads((data_dir / "sandbox.json").read_text())["control"]
        headers = {"Authorization": "Bearer "
                   + (data_dir / "sandbox_control_token").read_text().strip()}
        with server.client(headers=admin_headers(server)) as http:
            assert http.get("/healthz").json()["channel"]["mode"] == "sandbox"
            # The server takes what the sandbox signs (both secrets are accepted then).
            said = crm(server, "simulate", "--from", "85291234567", "--text", "via server")
            assert said.returncode == 0, said.stderr
            assert http.get("/api/chats/85291234567").status_code == 200
            # The real access token never goes to the sandbox.
            sent = http.post("/api/send", json={"phone": "85291234567", "text": "hi"})
            assert sent.status_code == 202, sent.text
            requests = wait_until(lambda: httpx.get(
                f"{control}/_sandbox/requests", headers=headers,
                timeout=5).json()["requests"], message="the send to reach the sandbox")
            assert requests and "a-real-access-token" not in json.dumps(requests)

        # What simulate and the sandbox post, caught where the server would be.
        said = crm(server, "simulate", "--from", "85291234567", "--text", "caught",
                   "--url", capture.url)
        assert said.returncode == 0, said.stderr
        httpx.post(f"{control}/_sandbox/behaviour", json={"webhook_url": capture.url},
                   headers=headers, timeout=5).raise_for_status()
        httpx.post(f"{control}/_sandbox/inbound", json={"from": "85291234568", "text": "x"},
                   headers=headers, timeout=5).raise_for_status()
        wait_until(lambda: any(b"85291234568" in body for _, body in capture.posts),
                   message="the sandbox's webhook")
        assert len(capture.posts) >= 2
        for signature, body in capture.posts:
            assert signature == sign(own, body)
            assert signature != sign(REAL_SECRET, body)
    finally:
        server.stop()
