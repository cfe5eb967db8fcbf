"""One small interface over where media files live: ``local`` or ``drive``.

Every file is known by the hex SHA-256 of its bytes (the id in ``/media/<id>``),
whichever backend holds it; ``ref`` is the backend's own name for it (the digest
again for local files, the file id on Drive). ``media.stored`` records both, and the
``media_files`` projection maps one to the other for serving.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from crm.media.local import LocalMediaStore


class MediaStoreError(Exception):
    """The backend could not store or read a file; the message says why."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    mime_type: str
    filename: str | None
    backend: str
    ref: str
    link: str | None = None

    def reference(self) -> dict[str, Any]:
        """The ``store`` field of ``media.stored``."""
        found: dict[str, Any] = {"backend": self.backend, "ref": self.ref}
        if self.link:
            found["link"] = self.link
        return found


class MediaStore(Protocol):
    backend: str

    def put(self, content: bytes, mime_type: str, filename: str | None) -> StoredFile:
        """Keep ``content``; storing the same bytes again is harmless."""
        ...

    def read(self, ref: str) -> bytes:
        """The bytes of a file this backend stored (``MediaStoreError`` if gone)."""
        ...


class LocalBackend:
    """Files under ``CRM_DATA_DIR/media``, named by their digest (``crm.media.local``)."""

    backend = "local"

    def __init__(self, local: LocalMediaStore) -> None:
        self.local = local

    def put(self, content: bytes, mime_type: str, filename: str | None) -> StoredFile:
        stored = self.local.put(content, mime_type, filename)
        return StoredFile(stored.id, stored.size, mime_type, filename, "local", stored.id)

    def read(self, ref: str) -> bytes:
        try:
            return self.local.read(ref)
        except FileNotFoundError:
            raise MediaStoreError(f"no local media file {ref}") from None


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
