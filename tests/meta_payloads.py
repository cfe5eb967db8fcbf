"""Builders of Meta webhook bodies and a signed poster, for the webhook tests.

Bodies are serialised the way Meta sends them: ``json.dumps`` with its default
``ensure_ascii=True``, so non-ASCII text travels as ``\\uXXXX`` escapes and the
signature covers those escaped bytes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from crm.events.store import iter_after, open_connection
from crm.whatsapp import sign
from tests.conftest import LiveServer, start_server

T = TypeVar("T")

SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PATH = "/webhook/whatsapp"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "whatsapp"
#: Meta's own sample payloads (pywa); absent when ../shared is not beside the checkout.
PYWA = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "meta-webhooks" / "pywa"
BASE_TS = 1764000000  # 2025-11-24T16:00:00Z


def envelope(*changes: dict[str, Any], entry_id: str = "WABA1") -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": entry_id, "changes": list(changes)}]}


def messages_change(messages: list | tuple = (), statuses: list | tuple = (),
                    contacts: list | tuple = (), errors: list | None = None,
                    phone_number_id: str = "PNID1") -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    if errors is not None:
        value["errors"] = errors
    return {"field": "messages", "value": value}


def contact(wa_id: str | None, name: str, user_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        found["wa_id"] = wa_id
    if user_id is not None:
        found["user_id"] = user_id
    return found


def message(wamid: str, sender: str | None, kind: str, payload: Any = None,
            ts: int | str = BASE_TS, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"id": wamid, "timestamp": str(ts) if isinstance(ts, int) else ts,
                             "type": kind}
    if sender is not None:
        found["from"] = sender
    if payload is not None:
        found[kind] = payload
    found.update(extra)
    return found


def text(wamid: str, sender: str, body: str, ts: int | str = BASE_TS, **extra: Any) -> dict:
    return message(wamid, sender, "text", {"body": body}, ts, **extra)


def status(wamid: str, recipient: str, state: str, ts: int = BASE_TS, **extra: Any) -> dict:
    return {"id": wamid, "status": state, "timestamp": str(ts), "recipient_id": recipient,
            **extra}


def body_of(payload: Any) -> bytes:
    """Meta's serialisation: ASCII only, non-ASCII escaped."""
    return json.dumps(payload).encode("ascii")


def post(client: httpx.Client, body: bytes, secret: str | None = SECRET,
         headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Content-Type": "application/json"}
    if secret is not None:
        sent["X-Hub-Signature-256"] = sign(secret, body)
    sent.update(headers or {})
    return client.post(PATH, content=body, headers=sent)


def post_at_once(server: LiveServer, body: bytes, times: int) -> list[int]:
    """The same signed POST ``times`` times at once, each on its own connection."""
    start = threading.Barrier(times)

    def deliver(_: int) -> int:
        with server.client() as own:
            start.wait(timeout=10)
            return post(own, body).status_code

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(deliver, range(times)))


def events_after(server: LiveServer, after: int) -> list[dict]:
    """Every event after a position, read from the server's database file itself.

    The file, not ``/api/events``: what is committed there is what the 200 promised.
    """
    conn = open_connection(server.db_path, readonly=True)
    try:
        return [e.as_json() for e in iter_after(conn, after)]
    finally:
        conn.close()


def read_db(server: LiveServer, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` on a read-only connection to the server's database."""
    conn = open_connection(server.db_path, readonly=True)
    try:
        return fn(conn, *args)
    finally:
        conn.close()


def position(client: httpx.Client) -> int:
    return client.get("/healthz").json()["position"]


@contextmanager
def webhook_server(factory: pytest.TempPathFactory, name: str,
                   *args: str) -> Iterator[LiveServer]:
    """A ``crm serve`` of its own with the test secret and verify token configured."""
    data_dir = factory.mktemp(name) / "data"
    data_dir.mkdir()
    server = start_server(data_dir, *args, WHATSAPP_APP_SECRET=SECRET,
                          WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN)
    try:
        yield server
    finally:
        server.stop()


def post_raw(port: int, body: bytes, headers: dict[str, str],
             timeout: float = 10.0) -> tuple[int, dict]:
    """POST over a bare socket that reads the answer even if the server answers (and
    closes) before the body is all sent, as it must for an oversized body. An HTTP client
    that insists on writing the whole body first may instead see a reset: a race in the
    test, not in the server."""
    import socket

    head = [f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for start in range(0, len(body), 64 * 1024):
                sock.sendall(body[start:start + 64 * 1024])
        except OSError:
            pass  # the server answered and closed early: read what it said
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            pass
    head_text, _, rest = received.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ", 2)[1])
    lowered = head_text.lower()
    if b"transfer-encoding: chunked" in lowered:
        decoded = b""
        while rest:
            size_text, _, rest = rest.partition(b"\r\n")
            size = int(size_text, 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        rest = decoded
    return status, json.loads(rest) if rest else {}
