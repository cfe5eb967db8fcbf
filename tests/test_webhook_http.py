"""The webhook's HTTP contract on a real ``crm serve``: handshake, signature, limits."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.api.app import create_app
from crm.config import Settings
from crm.whatsapp import sign
from tests.conftest import LiveServer, admin_headers, start_server
from tests.meta_payloads import (
    FIXTURES,
    PATH,
    SECRET,
    VERIFY_TOKEN,
    body_of,
    contact,
    envelope,
    events_after,
    messages_change,
    position,
    post,
    post_raw,
    text,
    webhook_server,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "webhook-http") as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    # An agent's client: /healthz tells only agents the log's position.
    with live.client(headers=admin_headers(live)) as c:
        yield c


def one_text(wamid: str, body: str = "hello") -> bytes:
    return body_of(envelope(messages_change([text(wamid, "5511900000001", body)],
                                            contacts=[contact("5511900000001", "Ana")])))


# -- handshake -----------------------------------------------------------------------

def test_handshake_echoes_the_challenge_as_plain_text(client: httpx.Client) -> None:
    answer = client.get(PATH, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                      "hub.challenge": "1158201444"})
    assert answer.status_code == 200
    assert answer.content == b"1158201444"
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
])
def test_handshake_refuses_anything_else(client: httpx.Client, params: dict) -> None:
    answer = client.get(PATH, params=params)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "verification_failed"  # no challenge echoed


# -- signature -----------------------------------------------------------------------

def test_a_signed_post_is_recorded_before_the_answer(live: LiveServer,
                                                     client: httpx.Client) -> None:
    before = position(client)
    answer = post(client, one_text("wamid.SIG.ok"))
    assert answer.status_code == 200
    # No waiting: 200 means committed, so the very next read sees it.
    [event] = events_after(live, before)
    assert event["type"] == "message.received"
    assert event["idempotency_key"] == "wa:wamid.SIG.ok"
    assert event["actor"] == "meta"


@pytest.mark.parametrize(("label", "header"), [
    ("missing", None),
    ("wrong secret", lambda body: sign("not-the-secret", body)),
    ("wrong digest", lambda body: "sha256=" + "0" * 64),
    ("other body", lambda body: sign(SECRET, body + b" ")),
    ("no prefix", lambda body: sign(SECRET, body).removeprefix("sha256=")),
    ("sha1", lambda body: "sha1=" + sign(SECRET, body).removeprefix("sha256=")[:40]),
    ("not hex", lambda body: "sha256=" + "zz" * 32),
    ("empty", lambda body: ""),
])
def test_unsigned_or_wrongly_signed_posts_are_refused_and_not_recorded(
        live: LiveServer, client: httpx.Client, label: str, header) -> None:
    body = one_text(f"wamid.SIG.bad.{label}")
    before = position(client)
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header(body)
    answer = client.post(PATH, content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
    assert position(client) == before
    assert events_after(live, before) == []


def test_non_ascii_is_signed_over_metas_escaped_bytes(live: LiveServer,
                                                      client: httpx.Client) -> None:
    raw = (FIXTURES / "non_ascii_text.json").read_bytes()
    assert raw.isascii() and b"\\u00e9" in raw  # as Meta sends it: escaped
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    before = position(client)
    # A server that hashed re-serialised JSON would accept this and refuse Meta's own.
    forged = client.post(PATH, content=raw,
                         headers={"X-Hub-Signature-256": sign(SECRET, reserialised)})
    assert forged.status_code == 401
    answer = post(client, raw)
    assert answer.status_code == 200
    [event] = events_after(live, before)
    assert event["data"]["text"] == (
        "Olá! Café crème brûlée ☕ 😀🇵🇹 مرحبا 你好 \"quoted\" \\ back/slash")
    assert event["data"]["profile_name"] == "José Álvarez Østergaard"
    chat = client.get("/api/chats/34600000001", headers=admin_headers(live)).json()["chat"]
    assert chat["name"] == "José Álvarez Østergaard"


# -- limits and bodies we cannot read --------------------------------------------------

def test_bodies_over_4_mb_are_refused_with_413_in_json(live: LiveServer,
                                                       client: httpx.Client) -> None:
    big = one_text("wamid.BIG", "x" * (4 * 1024 * 1024))
    before = position(client)
    status, answer = post_raw(live.port, big, {
        "Content-Type": "application/json", "Content-Length": str(len(big)),
        "X-Hub-Signature-256": sign(SECRET, big)})
    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert position(client) == before


def test_a_chunked_body_over_4_mb_is_refused_too(live: LiveServer,
                                                 client: httpx.Client) -> None:
    big = one_text("wamid.BIG.chunked", "x" * (4 * 1024 * 1024))

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(big), 256 * 1024):
            yield big[start:start + 256 * 1024]

    before = position(client)
    status, answer = post_raw(live.port, _chunked(chunks()), {
        "Transfer-Encoding": "chunked", "X-Hub-Signature-256": sign(SECRET, big)})
    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert events_after(live, before) == []


def _chunked(parts: Iterator[bytes]) -> bytes:
    """An HTTP/1.1 chunked body, written out."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_malformed_json_is_kept_verbatim_answered_200_and_counted(
        live: LiveServer, client: httpx.Client) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": [{"id": "1", \xff truncated'
    counted = client.get("/healthz").json()["unparsed_webhooks"]
    before = position(client)
    for _ in range(3):  # Meta's retries of the same body: kept once
        assert post(client, body).status_code == 200
    [event] = events_after(live, before)
    assert event["type"] == "webhook.unparsed"
    assert event["stream"] == "webhook"
    assert base64.b64decode(event["data"]["body_b64"]) == body
    assert "not valid JSON" in event["data"]["reason"]
    assert client.get("/healthz").json()["unparsed_webhooks"] == counted + 1

    other = b'["valid JSON", "but not a webhook"]'
    assert post(client, other).status_code == 200
    assert client.get("/healthz").json()["unparsed_webhooks"] == counted + 2


def test_without_an_app_secret_every_post_is_refused_with_503(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = start_server(data_dir)  # neither secret nor token configured
    try:
        with server.client(headers=admin_headers(server)) as client:
            before = position(client)
            answer = post(client, one_text("wamid.NOSECRET"))
            assert answer.status_code == 503
            assert "WHATSAPP_APP_SECRET" in answer.json()["error"]["message"]
            assert events_after(server, before) == []
            handshake = client.get(PATH, params={"hub.mode": "subscribe",
                                                 "hub.verify_token": "", "hub.challenge": "1"})
            assert handshake.status_code == 403
    finally:
        server.stop()


async def test_refusals_are_logged_with_their_reason(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "data", whatsapp_app_secret=SECRET)
    app = create_app(settings)
    body = one_text("wamid.LOG")
    caplog.set_level(logging.WARNING, logger="crm.webhook")
    async with app.test_app() as test_app:
        client = test_app.test_client()
        missing = await client.post(PATH, data=body)
        wrong = await client.post(PATH, data=body,
                                  headers={"X-Hub-Signature-256": sign("nope", body)})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    messages = [r.getMessage() for r in caplog.records if r.name == "crm.webhook"]
    assert any("missing X-Hub-Signature-256" in m for m in messages)
    assert any("does not match the body" in m for m in messages)
