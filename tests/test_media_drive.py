"""The Drive backend: google-api-python-client against a fake Drive v3 server.

Files go into the configured folder with a resumable upload, stay private unless
``CRM_MEDIA_PUBLIC_LINKS`` says otherwise, and agents get them through ``/media/<id>``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from crm.config import Settings
from crm.media.backends import media_store
from crm.media.drive import DriveBackend
from tests.conftest import admin_headers, wait_until
from tests.fake_google import FakeGoogle
from tests.google_support import PROXY_VARIABLES, google_env, write_service_account
from tests.media_support import PNG, media_events, sandbox, start_media_server

FOLDER = "1DriveFolderForCrm"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    for name in PROXY_VARIABLES:  # httplib2 refuses to run with a proxy set
        monkeypatch.delenv(name, raising=False)
    with FakeGoogle() as server:
        yield server


def settings(tmp_path: Path, fake: FakeGoogle, **extra: object) -> Settings:
    key = write_service_account(tmp_path / "sa.json", fake.url + "/token")
    return Settings(data_dir=tmp_path / "data", media_backend="drive",
                    google_application_credentials=key, google_api_url=fake.url,
                    google_drive_folder_id=FOLDER, **extra)


def test_resumable_upload_into_the_folder_private_unless_asked(tmp_path: Path,
                                                                fake: FakeGoogle) -> None:
    store = media_store(settings(tmp_path, fake))
    assert isinstance(store, DriveBackend)
    content = os.urandom(9 * 1024 * 1024)  # more than one 8 MiB chunk
    stored = store.put(content, "video/mp4", "../../clip <1>.mp4")
    meta = fake.files[stored.ref]["meta"]
    assert fake.files[stored.ref]["data"] == content
    assert meta["parents"] == [FOLDER] and meta["mimeType"] == "video/mp4"
    assert meta["name"] == f"{stored.sha256[:16]}-clip _1_.mp4"
    assert meta["appProperties"] == {"sha256": hashlib.sha256(content).hexdigest()}
    uploads = [c for c in fake.log if c.path == "/upload/drive/v3/files"]
    assert uploads[0].query["uploadType"] == ["resumable"]
    assert [c.headers["Content-Range"] for c in uploads[1:]] == [
        f"bytes 0-{8 * 1024 * 1024 - 1}/{len(content)}",
        f"bytes {8 * 1024 * 1024}-{len(content) - 1}/{len(content)}"]
    assert uploads[0].headers["Authorization"] == "Bearer fake-access-token"
    assert fake.permissions == {} and stored.link is None
    assert store.read(stored.ref) == content

    public = media_store(settings(tmp_path, fake, media_public_links=True))
    shared = public.put(PNG, "image/png", None)
    assert fake.permissions[shared.ref] == [{"type": "anyone", "role": "reader",
                                             "id": fake.permissions[shared.ref][0]["id"]}]
    assert shared.reference() == {"backend": "drive", "ref": shared.ref,
                                  "link": f"https://drive.google.com/file/d/{shared.ref}/view"}


def test_an_inbound_image_goes_to_drive_and_back_through_media(tmp_path: Path,
                                                               data_dir: Path,
                                                               fake: FakeGoogle) -> None:
    key = write_service_account(tmp_path / "sa.json", fake.url + "/token")
    with sandbox() as graph:
        server = start_media_server(data_dir, graph, **google_env(
            fake.url, key, CRM_MEDIA_BACKEND="drive", GOOGLE_DRIVE_FOLDER_ID=FOLDER))
        try:
            media_id = graph.store_media(PNG, "image/png", "boat.png")
            graph.customer_says("85291234567", "Ana", None,
                                image={"id": media_id, "mime_type": "image/png"})
            [stored] = wait_until(lambda: media_events(server.db_path), 15,
                                  message="media.stored")
            assert stored.type == "media.stored"
            ref = stored.data["store"]["ref"]
            assert stored.data["store"] == {"backend": "drive", "ref": ref}
            assert fake.files[ref]["data"] == PNG
            assert fake.files[ref]["meta"]["parents"] == [FOLDER]
            assert not (data_dir / "media").exists()   # nothing kept locally

            url = f"/media/{hashlib.sha256(PNG).hexdigest()}"
            with server.client(headers=admin_headers(server)) as http:
                served = http.get(url)
            assert served.status_code == 200 and served.content == PNG
            assert served.headers["content-type"] == "image/png"
            assert httpx.get(server.url + url, timeout=10).status_code in (302, 303, 401)
            assert fake.permissions == {}   # never made public
            assert f"/drive/v3/files/{ref}" in fake.paths("GET")
        finally:
            server.stop()
