"""``crm serve`` with no Meta account: the sandbox, ``crm simulate`` and the whole loop."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import LiveServer, admin_headers, start_server, wait_until
from tests.sandbox_support import send_text, wait_status
from tests.test_send_sender import png


def crm(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    env = {**server.env, "CRM_PORT": str(server.port), "CRM_HOST": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def crm_here(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    """A ``crm`` command told nothing but the data folder (no CRM_PORT): it finds the
    server on its own, as after ``CRM_PORT=18200 make run``."""
    env = {k: v for k, v in server.env.items() if k not in ("CRM_PORT", "CRM_HOST")}
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_without_a_token_the_sandbox_runs_the_whole_loop(data_dir: Path):
    server = start_server(data_dir, CRM_SANDBOX="auto")
    try:
        state = json.loads((data_dir / "sandbox.json").read_text())
        assert stat.S_IMODE((data_dir / "sandbox_secret").stat().st_mode) == 0o600
        with server.client(headers=admin_headers(server)) as http:
            assert http.get("/healthz").json()["channel"]["mode"] == "sandbox"
            assert stat.S_IMODE((data_dir / "server.json").stat().st_mode) == 0o600
            said = crm_here(server, "simulate", "--from", "85291234567", "--name", "Ana",
                            "--text", "Hi, is the kayak free on Saturday?")
            assert said.returncode == 0, said.stderr
            assert server.url in said.stderr
            chat = http.get("/api/chats/85291234567").json()["chat"]
            assert chat["name"] == "Ana" and chat["unread"] == 1
            assert chat["last_message"]["text"] == "Hi, is the kayak free on Saturday?"

            sent = send_text(http, "85291234567", "Yes, it is!").json()["message"]
            wait_status(http, "85291234567", sent["id"], "read")
            # The sandbox customer answers the first message, under the name it was given.
            wait_until(lambda: http.get("/api/chats/85291234567").json()["chat"][
                "last_message"]["text"].startswith("(sandbox customer)"), 10)
            assert http.get("/api/chats/85291234567").json()["chat"]["name"] == "Ana"
            token = (data_dir / "sandbox_control_token").read_text().strip()
            bodies = httpx.get(f"{state['control']}/_sandbox/webhooks", headers={
                "Authorization": f"Bearer {token}"}).json()["bodies"]
            names = [c["profile"]["name"] for value in bodies
                     for c in value.get("contacts", [])]
            assert names == ["Ana"], names
            said = crm_here(server, "simulate", "--from", "85291234567", "--text", "no name")
            assert said.returncode == 0, said.stderr
            assert http.get("/api/chats/85291234567").json()["chat"]["name"] == "Ana"

            # The documented controls: the next send fails with Meta's code, once.
            told = crm_here(server, "sandbox", "fail-next", "131026")
            assert told.returncode == 0, told.stderr
            shown = json.loads(crm_here(server, "sandbox", "state").stdout)
            assert shown["faults"] == {"messages": [
                {"kind": "error", "code": 131026, "times": 1, "seconds": 0.0}]}
            doomed = send_text(http, "85291234567", "Not on WhatsApp?").json()["message"]
            failed = wait_status(http, "85291234567", doomed["id"], "failed")
            assert failed["error"]["code"] == 131026
            again = send_text(http, "85291234567", "And now?").json()["message"]
            wait_status(http, "85291234567", again["id"], "read")

            image = data_dir.parent / "kayak.png"
            image.write_bytes(png())
            said = crm(server, "simulate", "--from", "85291234567", "--image", str(image),
                       "--text", "this one?")
            assert said.returncode == 0, said.stderr
            last = http.get("/api/chats/85291234567").json()["chat"]["last_message"]
            assert (last["type"], last["caption"]) == ("image", "this one?")
            media_id = last["media"]["id"]
            info = httpx.get(f"{state['url']}/{media_id}",
                             headers={"Authorization": "Bearer any"}).json()
            assert info["file_size"] == len(png())

            refreshed = crm(server, "templates", "refresh")
            assert refreshed.returncode == 0, refreshed.stderr
            assert "templates fetched" in refreshed.stderr
            names = {t["name"] for t in http.get("/api/templates").json()["templates"]}
            assert "hello_world" in names
        # A forged webhook (not the sandbox's secret) is still refused.
        forged = httpx.post(server.url + "/webhook/whatsapp", content=b"{}",
                            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert forged.status_code == 401
    finally:
        assert server.stop() == 0
    assert not (data_dir / "sandbox.json").exists()
    wait_until(lambda: not alive(state["pid"]), 5, message="the sandbox to stop with crm")


def test_a_killed_server_leaves_no_sandbox_behind(data_dir: Path):
    server = start_server(data_dir, CRM_SANDBOX="auto")
    pid = json.loads((data_dir / "sandbox.json").read_text())["pid"]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    wait_until(lambda: not alive(pid), 5, message="the orphaned sandbox to exit")


def test_simulate_without_a_server_secret_says_what_to_do(data_dir: Path):
    done = subprocess.run(
        [sys.executable, "-m", "crm.cli", "simulate", "--from", "85291234567", "--text", "hi"],
        env={**os.environ, "CRM_DATA_DIR": str(data_dir)}, capture_output=True, text=True,
        timeout=30)
    assert done.returncode == 1
    assert "start crm serve first" in done.stderr
