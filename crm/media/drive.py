"""Media on Google Drive: resumable uploads into one folder, private by default.

Files are created in ``GOOGLE_DRIVE_FOLDER_ID`` by the service account and shared with
nobody: agents get them through ``/media/<id>``, which reads them back with the same
account. ``CRM_MEDIA_PUBLIC_LINKS`` adds an anyone-with-the-link reader permission,
an explicit opt-in because such a link shows a customer's photo to whoever has it.

The client (httplib2 underneath) is not thread-safe: one lock serialises its calls.
"""

from __future__ import annotations

import io
import mimetypes
import re
import threading
from typing import Any

from crm.config import Settings
from crm.media.store import MediaStoreError, StoredFile, digest

#: Resumable upload chunk (a multiple of 256 KiB, as Drive requires).
CHUNK = 8 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


def drive_name(sha256: str, mime_type: str, filename: str | None) -> str:
    """``<first 16 hex digits>-<name>``: findable by digest in the Drive folder, and
    never a customer's raw file name alone."""
    name = _UNSAFE_NAME.sub("_", filename or "").strip(" ._")[:80]
    if not name:
        name = "file" + (mimetypes.guess_extension(mime_type) or "")
    return f"{sha256[:16]}-{name}"


class DriveBackend:
    backend = "drive"

    def __init__(self, service: Any, folder_id: str, public_links: bool = False) -> None:
        self.service = service
        self.folder_id = folder_id
        self.public_links = public_links
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> DriveBackend:
        from crm.google import DRIVE_SCOPES, GoogleConfigError, drive_service, load_credentials

        if not settings.google_drive_folder_id:
            raise GoogleConfigError("CRM_MEDIA_BACKEND=drive needs GOOGLE_DRIVE_FOLDER_ID (the "
                                    "id of a folder shared with the service account)")
        credentials = load_credentials(settings.google_application_credentials, DRIVE_SCOPES)
        return cls(drive_service(credentials, settings.google_api_url),
                   settings.google_drive_folder_id, settings.media_public_links)

    def put(self, content: bytes, mime_type: str, filename: str | None) -> StoredFile:
        from googleapiclient.errors import HttpError
        from googleapiclient.http import MediaIoBaseUpload

        sha256 = digest(content)
        body = {"name": drive_name(sha256, mime_type, filename), "parents": [self.folder_id],
                "mimeType": mime_type, "appProperties": {"sha256": sha256}}
        upload = MediaIoBaseUpload(io.BytesIO(content), mimetype=mime_type, chunksize=CHUNK,
                                   resumable=True)
        try:
            with self._lock:
                created = self.service.files().create(
                    body=body, media_body=upload, fields="id,webViewLink",
                    supportsAllDrives=True).execute(num_retries=3)
                link = None
                if self.public_links:
                    self.service.permissions().create(
                        fileId=created["id"], body={"type": "anyone", "role": "reader"},
                        fields="id", supportsAllDrives=True).execute(num_retries=3)
                    link = created.get("webViewLink")
        except HttpError as exc:
            raise MediaStoreError(f"Google Drive refused the upload: {_reason(exc)}") from None
        except OSError as exc:
            raise MediaStoreError(f"could not reach Google Drive: {exc}") from None
        return StoredFile(sha256, len(content), mime_type, filename, "drive", created["id"],
                          link)

    def read(self, ref: str) -> bytes:
        from googleapiclient.errors import HttpError

        try:
            with self._lock:
                return self.service.files().get_media(
                    fileId=ref, supportsAllDrives=True).execute(num_retries=2)
        except HttpError as exc:
            raise MediaStoreError(f"Google Drive could not give file {ref}: "
                                  f"{_reason(exc)}") from None
        except OSError as exc:
            raise MediaStoreError(f"could not reach Google Drive: {exc}") from None


def _reason(exc: Any) -> str:
    status = getattr(getattr(exc, "resp", None), "status", "?")
    return f"HTTP {status} {getattr(exc, 'reason', '') or ''}".strip()
