"""The sending parts on their own: Meta's errors, payloads, input checks, the lease and
the Graph client against the fake Graph server over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from crm.api.errors import ApiError
from crm.api.send_input import check_window, file_draft, template_draft, text_draft
from crm.events import RecordedEvent, parse_time
from crm.jobs import lease
from crm.jobs.backoff import backoff
from crm.sender import outbox
from crm.whatsapp.errors import from_response
from crm.whatsapp.graph import GraphClient
from crm.whatsapp.outbound import message_payload
from tests.conftest import wait_until
from tests.sandbox_support import GraphSandbox


def meta_error(code: int, **extra) -> dict:
    return {"error": {"message": f"(#{code}) Something", "type": "OAuthException",
                      "code": code, "error_data": {"details": "why"}, **extra}}


@pytest.mark.parametrize("code,transient,account", [
    (130429, True, False), (131056, True, False), (131000, True, False), (131016, True, False),
    (1, True, False), (2, True, False), (133004, True, False), (131057, True, False),
    (131047, False, False), (131026, False, False), (100, False, False),
    (190, False, True), (0, False, True), (10, False, True), (200, False, True),
    (299, False, True), (131031, False, True), (368, False, True), (131042, False, True),
    (131045, False, True),
])
def test_meta_codes_decide_retry_and_health(code: int, transient: bool, account: bool):
    error = from_response(400, meta_error(code))
    assert (error.code, error.transient, error.account_level) == (code, transient, account)
    assert (error.title, error.details) == ("Something", "why")


def test_errors_without_a_graph_body_follow_the_http_status():
    assert from_response(503, None).transient and not from_response(404, "x").transient
    assert from_response(400, meta_error(131026, is_transient=True)).transient
    assert not from_response(401, meta_error(190, is_transient=True)).transient


def test_payloads_are_meta_shaped():
    text = message_payload({"message_id": "m1", "phone": "85291234567", "message_type": "text",
                            "text": "see https://example.com"}, reply_wamid="wamid.X")
    assert text == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": "+85291234567", "type": "text", "biz_opaque_callback_data": "m1",
                    "text": {"body": "see https://example.com", "preview_url": True},
                    "context": {"message_id": "wamid.X"}}
    document = message_payload({"message_id": "m2", "phone": "US.1349120865", "caption": "c",
                                "message_type": "document", "media": {"filename": "a.pdf"}},
                               media_id="77")
    assert document["recipient"] == "US.1349120865" and "to" not in document
    assert document["document"] == {"id": "77", "caption": "c", "filename": "a.pdf"}
    with pytest.raises(ValueError):
        message_payload({"message_id": "m3", "phone": "85291234567", "message_type": "image"})


def test_input_checks():
    assert text_draft({"phone": "85291234567", "text": "hi"}).message_type == "text"
    for body, code in (({"phone": "85291234567", "text": ""}, "empty_text"),
                       ({"phone": "852 9123", "text": "hi"}, "bad_phone"),
                       ({"phone": 85291234567, "text": "hi"}, "bad_phone")):
        with pytest.raises(ApiError) as caught:
            text_draft(body)
        assert caught.value.code == code
    draft = template_draft({"phone": "447700900123", "template": {
        "name": "hello_world", "language": {"code": "en_US"}}})
    assert draft.template == {"name": "hello_world", "language": "en_US"}
    with pytest.raises(ApiError):
        template_draft({"phone": "US.1349", "template": {"name": "x", "language": "en gb"}})

    class Upload:
        filename, mimetype = "../../etc/voice.ogg", "audio/ogg"

        def read(self) -> bytes:
            return b"OggS"

    voice = file_draft({"phone": "85291234567"}, Upload())
    assert (voice.message_type, voice.file[2]) == ("audio", "voice.ogg")
    with pytest.raises(ApiError) as caught:
        file_draft({"phone": "85291234567", "caption": "no"}, Upload())
    assert caught.value.code == "bad_caption"
    now = parse_time("2026-01-02T00:00:00Z")
    check_window({"window_expires_at": "2026-01-02T00:00:01Z"}, now)
    for closes in ("2026-01-02T00:00:00Z", None):
        with pytest.raises(ApiError) as caught:
            check_window({"window_expires_at": closes}, now)
        assert (caught.value.status, caught.value.code) == (409, "window_closed")


def test_backoff_grows_with_jitter_up_to_the_cap():
    for attempt in range(1, 12):
        delay = backoff(attempt, 1.0, 60.0)
        ceiling = min(60.0, 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


def recorded(position: int, type_: str, **data) -> RecordedEvent:
    return RecordedEvent(position, f"e{position}", type_, "chat:1", "", "", "agent:a", None,
                         {"message_id": "m", "phone": "1", **data}, "", "")


def test_the_outbox_tells_in_flight_from_queued():
    requests: dict[str, outbox.Request] = {}
    outbox.fold(requests, recorded(1, "message.queued", message_type="text"))
    outbox.fold(requests, recorded(2, "message.dispatching", request=1, attempt=1))
    assert requests["m"].in_flight and requests["m"].attempts == 1
    outbox.fold(requests, recorded(3, "message.retrying", request=1, attempt=1))
    assert not requests["m"].in_flight  # its attempt is closed: send again
    outbox.fold(requests, recorded(4, "message.sent", wamid="w"))
    assert requests == {}
    outbox.fold(requests, recorded(5, "message.retry", message_type="text"))
    assert requests["m"].position == 5 and requests["m"].attempts == 0


def test_one_lease_holder_at_a_time_and_a_dead_one_is_replaced_at_once(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "lease.db", isolation_level=None)
    conn.executescript(lease.SCHEMA)
    assert lease.try_acquire(conn, "sender", "a", "host", 1, now=100.0)
    assert not lease.try_acquire(conn, "sender", "b", "other-host", 2, now=105.0)
    assert lease.try_acquire(conn, "sender", "b", "other-host", 2, now=111.0)  # expired
    assert not lease.renew(conn, "sender", "a", 112.0, 7)
    assert lease.renew(conn, "sender", "b", 112.0, 7) and lease.checkpoint(conn, "sender") == 7
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert lease.try_acquire(conn, "sender", "c", "host", gone.pid, now=130.0)
    # On the same host a holder whose process is gone is replaced before expiry...
    assert lease.try_acquire(conn, "sender", "d", "host", os.getpid(), now=131.0)
    # ... and a live one is not.
    assert not lease.try_acquire(conn, "sender", "e", "host", gone.pid, now=132.0)
    # A killed holder its parent has not reaped yet (a zombie) is gone too: signal 0
    # still reaches it, and an idle holder's lease would otherwise last ten minutes.
    host = socket.gethostname()
    killed = subprocess.Popen(["sleep", "30"])
    try:
        assert lease.try_acquire(conn, "sender", "z", host, killed.pid, now=150.0,
                                 ttl=lease.IDLE_TTL)
        assert not lease.try_acquire(conn, "sender", "y", host, os.getpid(), now=151.0)
        killed.send_signal(signal.SIGKILL)
        wait_until(lambda: Path(f"/proc/{killed.pid}/stat").read_text().rsplit(")", 1)[1]
                   .split()[0] == "Z", 5, message="the killed holder to be a zombie")
        assert lease.try_acquire(conn, "sender", "y", host, os.getpid(), now=152.0)
    finally:
        killed.kill()
        killed.wait()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture
async def graph(sandbox: GraphSandbox) -> AsyncIterator[GraphClient]:
    sandbox.state.reset()
    client = GraphClient(sandbox.graph_url, "token", sandbox.state.phone_number_id,
                         sandbox.state.waba_id, timeout=2)
    yield client
    await client.aclose()


async def test_the_graph_client_against_the_fake_graph_server(graph: GraphClient,
                                                              sandbox: GraphSandbox):
    media_id = await graph.upload_media(b"%PDF-1.4", "application/pdf", "a.pdf")
    info = await graph.media_info(media_id)
    assert (info["mime_type"], info["file_size"]) == ("application/pdf", 8)
    assert await graph.download(info["url"]) == b"%PDF-1.4"
    wamid = await graph.send_message({"messaging_product": "whatsapp", "to": "+85291234567",
                                      "type": "document", "document": {"id": media_id}})
    assert wamid.startswith("wamid.")
    await graph.mark_read("wamid.IN")
    assert sandbox.state.reads == ["wamid.IN"]
    assert {t["name"] for t in await graph.list_templates()} >= {"hello_world"}

    sandbox.behave(fail={"code": 131026, "http_status": 400}, drop={"on": "read"})
    refused = await _error(graph.send_message({"messaging_product": "whatsapp",
                                               "to": "+1", "type": "text",
                                               "text": {"body": "x"}}))
    assert (refused.code, refused.transient, refused.ambiguous) == (131026, False, False)
    dropped = await _error(graph.mark_read("wamid.IN"))
    assert dropped.transient and dropped.ambiguous


async def test_an_unreachable_graph_api_is_transient_and_not_ambiguous():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    client = GraphClient(f"http://127.0.0.1:{port}/v25.0", "t", "1", timeout=1)
    try:
        error = await _error(client.send_message({}))
    finally:
        await client.aclose()
    assert error.transient and not error.ambiguous and error.code is None


async def _error(call):
    from crm.whatsapp.errors import GraphError

    with pytest.raises(GraphError) as caught:
        await call
    return caught.value
