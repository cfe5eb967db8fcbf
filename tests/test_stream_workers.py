"""``crm serve --workers 2``: an event reaches every open stream, whichever worker holds it."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import httpx

from tests.conftest import LiveServer, admin_headers, start_server
from tests.sse_client import Appender, StreamClient, worker_of

SECRET = "stream-test-app-secret"


def post_webhook(server: LiveServer, wamid: str) -> httpx.Response:
    """A text message the way Meta sends it, signed with the app secret."""
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "WABA1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
            "messages": [{"from": "15551234567", "id": wamid, "timestamp": "1764000000",
                          "type": "text", "text": {"body": "hello from the stream test"}}],
        }}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(server.url + "/webhook/whatsapp", content=body, timeout=10,
                      headers={"Content-Type": "application/json",
                               "X-Hub-Signature-256": signature})


def until(client: StreamClient, position: int) -> list[tuple[int, str]]:
    """Events up to and including ``position``, as (position, data)."""
    events: list[tuple[int, str]] = []
    while not events or events[-1][0] < position:
        event = client.next_event(timeout=5)
        events.append((event.position, event.data or ""))
    return events


def test_an_event_reaches_every_stream_on_both_workers(data_dir: Path) -> None:
    # Up to 40 streams on one token: lift the per-agent limit (20), or a worker the kernel
    # handed more than 20 of them would end the oldest, and that one would never hear.
    server = start_server(data_dir, "--workers", "2", WHATSAPP_APP_SECRET=SECRET,
                          CRM_STREAMS_PER_AGENT="100")
    clients: list[StreamClient] = []
    appender = Appender(server.db_path)
    try:
        headers = admin_headers(server)
        # Ten streams; more if the kernel happened to hand all ten to one worker.
        while len(clients) < 10 or (len({worker_of(server, c) for c in clients}) < 2
                                    and len(clients) < 40):
            client = StreamClient(server.port, headers)
            assert client.wait_response() == 200
            clients.append(client)
        holders = [worker_of(server, c) for c in clients]
        assert len(set(holders)) == 2, "both workers hold streams"

        answer = post_webhook(server, "wamid.STREAM1")
        assert answer.status_code == 200, answer.text
        [position] = appender.append(1, tag="cross-process")
        # Every stream: the webhook's events, then the appended one; the same on all.
        received = [until(c, position) for c in clients]
        assert all(r == received[0] for r in received)
        assert any("wamid.STREAM1" in data for _, data in received[0][:-1])
        assert received[0][-1][0] == position
    finally:
        appender.close()
        for client in clients:
            client.close()
        server.stop()
