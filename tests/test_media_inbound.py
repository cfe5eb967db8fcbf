"""Inbound media: a customer's file is fetched from the (sandbox) Graph API, checked,
kept and served to agents through ``/media/<id>``, before Meta's links expire."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from crm.events import EventStore
from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.media_support import PNG, media_events, sandbox, start_media_server

CUSTOMER = "85291234567"


def thread(server: LiveServer, phone: str = CUSTOMER) -> list[dict]:
    answer = httpx.get(server.url + "/api/messages", params={"phone": phone},
                       headers=admin_headers(server), timeout=10)
    return answer.json().get("messages", []) if answer.status_code == 200 else []


def outcome(server: LiveServer, media_id: str) -> dict | None:
    """The thread's media object once stored or failed."""
    for message in thread(server):
        media = message.get("media") or {}
        if media.get("id") == media_id and ("url" in media or "error" in media):
            return media
    return None


@pytest.fixture(scope="module")
def graph():
    with sandbox() as state:
        yield state


@pytest.fixture(scope="module")
def live(graph, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("media") / "data"
    data_dir.mkdir()
    server = start_media_server(data_dir, graph)
    yield server
    server.stop()


def test_an_inbound_image_is_fetched_checked_stored_and_shown(live: LiveServer, graph) -> None:
    media_id = graph.store_media(PNG, "image/png", None)
    sha_b64 = base64.b64encode(hashlib.sha256(PNG).digest()).decode()  # as webhooks give it
    graph.customer_says(CUSTOMER, "Ana", None, caption="the kayak",
                        image={"id": media_id, "mime_type": "image/png", "sha256": sha_b64})
    media = wait_until(lambda: outcome(live, media_id), 15, message="the image to be stored")
    digest = hashlib.sha256(PNG).hexdigest()
    assert media["url"] == f"/media/{digest}" and media["size"] == len(PNG)
    assert "error" not in media

    with live.client(headers=admin_headers(live)) as http:
        served = http.get(media["url"])
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    anonymous = httpx.get(live.url + media["url"], timeout=10)
    assert anonymous.status_code in (302, 303, 401) and PNG not in anonymous.content
    assert (live.data_dir / "media" / digest[:2] / digest).read_bytes() == PNG

    [stored] = [e for e in media_events(live.db_path) if e.data["media_id"] == media_id]
    assert stored.type == "media.stored"
    assert stored.idempotency_key == f"media:message:{stored.data['message_id']}"
    assert stored.data["store"] == {"backend": "local", "ref": digest}
    assert stored.stream == f"chat:{CUSTOMER}"
    agent = admin_headers(live)
    wait_until(lambda: httpx.get(live.url + "/healthz", headers=agent).json().get(
        "media_pending") == 0, 10, message="no media left to fetch")


def test_a_wrong_sha256_is_rejected(live: LiveServer, graph) -> None:
    media_id = graph.store_media(b"\xff\xd8\xff" + b"jpeg" * 100, "image/jpeg", None)
    graph.media[media_id]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    graph.customer_says(CUSTOMER, "Ana", None, image={"id": media_id,
                                                      "mime_type": "image/jpeg"})
    media = wait_until(lambda: outcome(live, media_id), 15, message="the media to fail")
    assert "url" not in media and "does not match" in media["error"]
    [failed] = [e for e in media_events(live.db_path) if e.data["media_id"] == media_id]
    assert failed.type == "media.failed" and failed.data["attempts"] == 1


def test_an_expired_url_is_fetched_again_through_the_media_id(live: LiveServer, graph) -> None:
    content = b"%PDF-1.4 invoice " * 50
    media_id = graph.store_media(content, "application/pdf", "invoice.pdf")
    expired = f"{graph.base_url}/lookaside/{media_id}?ext={int(time.time()) - 60}"
    assert httpx.get(expired, headers={"Authorization": "Bearer x"}).status_code == 404
    graph.customer_says(CUSTOMER, "Ana", None, image={
        "id": media_id, "mime_type": "application/pdf", "url": expired,
        "filename": "invoice.pdf"})
    media = wait_until(lambda: outcome(live, media_id), 15, message="the refetched file")
    assert media["meta_url"] == expired and media["url"].startswith("/media/")
    with live.client(headers=admin_headers(live)) as http:
        served = http.get(media["url"])
    assert served.content == content
    assert served.headers["content-disposition"].startswith("attachment")


def test_limits_and_unsafe_types(live: LiveServer, graph) -> None:
    big = graph.store_media(b"\x89PNG" + b"\0" * (5 * 1024 * 1024), "image/png", None)
    page = graph.store_media(b"<script>alert(1)</script>", "text/html", "x.html")
    graph.customer_says(CUSTOMER, "Ana", None, image={"id": big, "mime_type": "image/png"})
    graph.customer_says(CUSTOMER, "Ana", None, image={"id": page, "mime_type": "text/html"})
    too_big = wait_until(lambda: outcome(live, big), 15, message="the big image to fail")
    assert too_big["error"] == "the image is 5.0 MB; WhatsApp allows at most 5 MB for an image"
    html = wait_until(lambda: outcome(live, page), 15, message="the html file")
    with live.client(headers=admin_headers(live)) as http:
        served = http.get(html["url"])
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in served.headers["content-security-policy"]


def test_transient_failures_are_retried_until_the_media_id_expires(live: LiveServer,
                                                                   graph) -> None:
    media_id = graph.store_media(PNG + b"retried", "image/png", None)
    graph.configure({"fail": {"on": "download", "code": 131016, "times": 2}})
    graph.customer_says(CUSTOMER, "Ana", None, image={"id": media_id, "mime_type": "image/png"})
    assert "url" in wait_until(lambda: outcome(live, media_id), 15, message="the retried file")
    [stored] = [e for e in media_events(live.db_path) if e.data["media_id"] == media_id]
    assert stored.type == "media.stored"
    assert [r["outcome"] for r in graph.requests if r["endpoint"] == "download"][-2:] == [
        "error:131016", "error:131016"]

    old = graph.store_media(PNG + b"old", "image/png", None)
    graph.configure({"fail": {"on": "download", "code": 131016, "times": 1}})
    graph.customer_says(CUSTOMER, "Ana", None, at=time.time() - 7 * 86400 + 0.1,
                        image={"id": old, "mime_type": "image/png"})
    media = wait_until(lambda: outcome(live, old), 15, message="the expiring media to fail")
    assert media["error"].startswith("gave up after 1 attempts before the media id expired")


class CountedMedia(dict):
    """The sandbox's media by id, counting how often the Graph API looked one up: its
    ``GET /{media-id}`` and its download each look once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.looked: dict[str, int] = {}

    def get(self, key, default=None):
        self.looked[key] = self.looked.get(key, 0) + 1
        return super().get(key, default)


def outcomes(server: LiveServer, media_id: str) -> list[dict] | None:
    """Every message naming ``media_id``'s media, once all are stored or failed."""
    found = [m.get("media") or {} for m in thread(server)
             if (m.get("media") or {}).get("id") == media_id]
    return found if found and all("url" in m or "error" in m for m in found) else None


def test_a_reused_media_id_is_fetched_once_and_shown_on_every_message(live: LiveServer,
                                                                       graph) -> None:
    """Meta reuses a media id (forwarded stickers, files sent again): each message gets
    the file, from one download, and replay agrees."""
    before = len(media_events(live.db_path))
    with graph.lock:
        graph.media = counted = CountedMedia(graph.media)
    media_id = graph.store_media(PNG + b"again", "image/png", None)
    first = graph.customer_says(CUSTOMER, "Ana", None,
                                image={"id": media_id, "mime_type": "image/png"})
    second = graph.customer_says(CUSTOMER, "Ana", None,
                                 image={"id": media_id, "mime_type": "image/png"})
    shown = wait_until(lambda: (lambda o: o if o and len(o) == 2 else None)(
        outcomes(live, media_id)), 15, message="both messages' image to be stored")
    digest = hashlib.sha256(PNG + b"again").hexdigest()
    assert [m.get("url") for m in shown] == [f"/media/{digest}"] * 2
    events = media_events(live.db_path)[before:]
    assert [(e.type, e.data["media_id"]) for e in events] == [("media.stored", media_id)] * 2
    assert len({e.data["message_id"] for e in events}) == 2
    assert all(e.idempotency_key == f"media:message:{e.data['message_id']}" for e in events)
    assert counted.looked[media_id] == 2  # one GET /{media-id}, one download
    assert first != second
    agent = admin_headers(live)
    wait_until(lambda: httpx.get(live.url + "/healthz", headers=agent).json().get(
        "media_pending") == 0, 10, message="no media left to fetch")
    assert check(live.db_path, default_projector()).identical


def test_a_restart_in_the_middle_resumes(data_dir: Path) -> None:
    with sandbox() as graph:  # its own: the sandbox keeps its webhook connection open
        restart_in_the_middle(graph, data_dir)


def restart_in_the_middle(graph, data_dir: Path) -> None:
    server = start_media_server(data_dir, graph)
    try:
        media_id = graph.store_media(PNG + b"slow", "image/png", None)
        graph.configure({"slow": {"on": "download", "seconds": 30}})
        graph.customer_says(CUSTOMER, "Ana", None, image={"id": media_id,
                                                          "mime_type": "image/png"})
        wait_until(lambda: graph.holding, 15, message="the worker inside GET /{media-id}")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    finally:
        server.stop()
    store = EventStore(data_dir / "crm.db")
    try:
        job = store.conn.execute("SELECT attempts FROM media_jobs WHERE media_id = ?",
                                 (media_id,)).fetchone()
    finally:
        store.close()
    assert job == (1,) and media_events(data_dir / "crm.db") == []

    server = start_media_server(data_dir, graph)
    try:
        media = wait_until(lambda: outcome(server, media_id), 15, message="the resumed fetch")
        assert media["url"] == f"/media/{hashlib.sha256(PNG + b'slow').hexdigest()}"
        [stored] = media_events(server.db_path)
        assert stored.type == "media.stored" and json.loads(json.dumps(stored.data))
    finally:
        server.stop()


def test_a_customers_file_name_with_line_breaks_is_cleaned(live: LiveServer, graph) -> None:
    """A name with CR/LF once made ``/media/<id>`` answer 500 for good (it went into the
    Content-Disposition header); it is kept and served cleaned, like an agent's upload."""
    content = b"%PDF-1.4 crlf " * 40
    dirty = "quote\r\nSet-Cookie: x=1\r\n.pdf"
    media_id = graph.store_media(content, "application/pdf", dirty)
    graph.customer_says(CUSTOMER, "Ana", None, image={
        "id": media_id, "mime_type": "application/pdf", "filename": dirty})
    media = wait_until(lambda: outcome(live, media_id), 15, message="the document stored")
    assert "url" in media, media
    with live.client(headers=admin_headers(live)) as http:
        served = http.get(media["url"])
    assert served.status_code == 200 and served.content == content
    disposition = served.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "quoteSet-Cookie: x=1.pdf" in disposition
    assert "set-cookie" not in served.headers
