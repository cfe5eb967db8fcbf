"""The fake Graph API for tests: crm's own sandbox, run on a thread of the test process.

It is the same server ``crm serve`` starts (``crm.sandbox``), speaking the Graph API's
HTTP protocol on 127.0.0.1; the crm server under test reaches it over real HTTP with
an access token, as it would reach Meta, and the sandbox posts signed webhooks back.
Running it here (not inside the server) lets a test kill the server and still ask
the sandbox what it received.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx

from crm.sandbox import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID
from crm.sandbox.server import SandboxServer
from crm.sandbox.state import Sandbox
from tests.conftest import LiveServer, admin_headers, start_server, wait_until

SECRET = "sandbox-test-app-secret"


class GraphSandbox:
    def __init__(self, status_delay: float = 0.05) -> None:
        self.state = Sandbox(SECRET, PHONE_NUMBER_ID, WABA_ID, DISPLAY_PHONE_NUMBER)
        self.state.configure({"status_delay": status_delay, "auto_reply": False})
        self.server = SandboxServer(("127.0.0.1", 0), self.state)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def graph_url(self) -> str:
        return self.state.base_url + "/v25.0"

    def env(self) -> dict[str, str]:
        """What a crm server needs to use this sandbox as its Meta."""
        return {"WHATSAPP_ACCESS_TOKEN": "test-access-token", "WHATSAPP_GRAPH_URL": self.graph_url,
                "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
                "WHATSAPP_WABA_ID": WABA_ID, "CRM_SEND_RETRY_BASE": "0.05"}

    def behave(self, **body: Any) -> None:
        self.state.configure(body)

    def sent(self, message_id: str) -> list[dict[str, Any]]:
        """Messages Meta accepted for one of our message ids."""
        with self.state.lock:
            return [m for m in self.state.messages if m["message_id"] == message_id]

    def requests(self, message_id: str | None = None,
                 endpoint: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [r for r in self.state.requests
                    if (message_id is None or r.get("message_id") == message_id)
                    and (endpoint is None or r["endpoint"] == endpoint)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_crm(data_dir: Path, sandbox: GraphSandbox, *args: str, **env: str) -> LiveServer:
    server = start_server(data_dir, *args, **{**sandbox.env(), **env})
    sandbox.behave(webhook_url=server.url + "/webhook/whatsapp")
    return server


# -- reading the log and the API ------------------------------------------------------

def events(server: LiveServer, type_: str | None = None,
           message_id: str | None = None) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT position, type, actor, idempotency_key, data FROM events "
                            "ORDER BY position").fetchall()
    finally:
        conn.close()
    found = []
    for position, kind, actor, key, data in rows:
        payload = json.loads(data)
        if type_ is not None and kind != type_:
            continue
        if message_id is not None and payload.get("message_id") != message_id:
            continue
        found.append({"position": position, "type": kind, "actor": actor, "key": key,
                      "data": payload})
    return found


def customer_writes(sandbox: GraphSandbox, server: LiveServer, phone: str,
                    text: str = "hello", hours_ago: float = 0.0) -> None:
    """A signed inbound webhook from the sandbox; returns once the chat shows it."""
    import time

    with server.client(headers=admin_headers(server)) as http:
        before = len(http.get("/api/messages", params={"phone": phone}).json().get(
            "messages", []))
        sandbox.state.customer_says(phone, "Customer " + phone[-4:], text,
                                    at=time.time() - hours_ago * 3600)
        wait_until(lambda: len(http.get("/api/messages", params={"phone": phone}).json().get(
            "messages", [])) > before, message=f"{phone}'s message to reach the inbox")


#: Delivery moves forward: waiting for ``sent`` is satisfied by ``read`` too.
RANK = {"sent": 1, "delivered": 2, "read": 3}


def wait_status(http: httpx.Client, phone: str, message_id: str, status: str,
                timeout: float = 10.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        for found in http.get("/api/messages", params={"phone": phone,
                                                       "limit": 200}).json()["messages"]:
            if found["id"] != message_id:
                continue
            if found["status"] == status or RANK.get(found["status"], 0) > RANK.get(status, 9):
                return found
        return None

    return wait_until(reached, timeout, message=f"message {message_id} to be {status}")


def send_text(http: httpx.Client, phone: str, text: str, **headers: str) -> httpx.Response:
    return http.post("/api/send", json={"phone": phone, "text": text}, headers=headers)
