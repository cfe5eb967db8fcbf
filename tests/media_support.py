"""The sending issue's sandbox (a fake Graph API over real HTTP) run inside the test
process, and a crm server that takes it for Meta."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crm.events import EventStore
from crm.sandbox import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID
from crm.sandbox.server import SandboxServer
from crm.sandbox.state import Sandbox
from tests.conftest import LiveServer, crm_env, start_server
from tests.google_support import PROXY_VARIABLES

SECRET = "media-tests-app-secret"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    state = Sandbox(SECRET, PHONE_NUMBER_ID, WABA_ID, DISPLAY_PHONE_NUMBER)
    state.configure({"auto_reply": False})
    server = SandboxServer(("127.0.0.1", 0), state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def server_env(data_dir: Path, graph: Sandbox, **extra: str) -> dict[str, str]:
    env = crm_env(data_dir, WHATSAPP_ACCESS_TOKEN="test-token",
                  WHATSAPP_PHONE_NUMBER_ID=PHONE_NUMBER_ID, WHATSAPP_WABA_ID=WABA_ID,
                  WHATSAPP_GRAPH_URL=graph.base_url + "/v25.0", WHATSAPP_APP_SECRET=SECRET,
                  CRM_MEDIA_RETRY_SECONDS="0.2", **extra)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    return env


def start_media_server(data_dir: Path, graph: Sandbox, **extra: str) -> LiveServer:
    server = start_server(data_dir, env=server_env(data_dir, graph, **extra))
    graph.configure({"webhook_url": server.url + "/webhook/whatsapp"})
    return server


def media_events(db: Path) -> list:
    store = EventStore(db)
    try:
        return [e for e in store.read_after(0, 100_000) if e.type.startswith("media.")]
    finally:
        store.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
