"""What the thread shows of a customer's file: our link once stored, the reason if not;
and where each kept file is. Deterministic, so replay rebuilds the same rows."""

from __future__ import annotations

from pathlib import Path

from crm.events import EventStore
from crm.events.media import MediaFailed, MediaStored, media_key
from crm.events.messages import chat_stream
from crm.projections import default_projector
from crm.projections.media import get_file
from crm.projections.messages import list_messages
from crm.projections.replay import check
from tests.factories import received

PHONE = "85291234567"
SHA = "ab" * 32


def stored(message_id: str, media_id: str, backend: str = "local", ref: str = SHA):
    return MediaStored(message_id=message_id, phone=PHONE, media_id=media_id, sha256=SHA,
                       mime_type="image/jpeg", size=1234, filename=None,
                       store={"backend": backend, "ref": ref}).new(
        chat_stream(PHONE), idempotency_key=media_key(media_id))


def test_thread_media_links_to_our_copy_or_says_why_not(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    photo = received(PHONE, kind="image", media={
        "id": "M1", "mime_type": "image/jpeg", "sha256": "q83vEjRWeJA=",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=M1"})
    voice = received(PHONE, kind="audio", media={"id": "M2", "mime_type": "audio/ogg"})
    store.record([photo, voice])
    media = [m["media"] for m in list_messages(store.conn, PHONE)[0]]
    assert "url" not in media[0] and media[0]["meta_url"].startswith("https://lookaside")

    store.record([stored(photo.id, "M1", "drive", "drive-file-1"),
                  MediaFailed(message_id=voice.id, phone=PHONE, media_id="M2",
                              reason="the file's SHA-256 does not match", attempts=1).new(
                      chat_stream(PHONE), idempotency_key=media_key("M2"))])
    # A second outcome for the same media id is refused by its idempotency key.
    assert store.record([stored(photo.id, "M1")]) == [3]
    photo_media, voice_media = [m["media"] for m in list_messages(store.conn, PHONE)[0]]
    assert photo_media["url"] == f"/media/{SHA}" and photo_media["size"] == 1234
    assert photo_media["id"] == "M1" and photo_media["sha256"] == SHA
    assert voice_media == {"id": "M2", "mime_type": "audio/ogg",
                           "error": "the file's SHA-256 does not match"}
    assert get_file(store.conn, SHA) == {"sha256": SHA, "backend": "drive",
                                         "ref": "drive-file-1", "mime_type": "image/jpeg",
                                         "filename": None, "size": 1234, "link": None}
    store.close()
    assert check(db, projector).identical
