"""The local media store: content-addressed files under ``CRM_DATA_DIR/media``.

``media/ab/abcdef...`` holds the bytes whose SHA-256 is ``abcdef...``, and a small
``.json`` beside it the type and name it was first stored with. Files are written to a
temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.private import create_private, ensure_private_dir

MEDIA_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredMedia:
    id: str
    path: Path
    mime_type: str
    filename: str | None
    size: int

    def as_event(self) -> dict[str, Any]:
        """What a ``message.queued`` records about its file."""
        found: dict[str, Any] = {"url": f"/media/{self.id}", "sha256": self.id,
                                 "mime_type": self.mime_type, "size": self.size}
        if self.filename:
            found["filename"] = self.filename
        return found


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> LocalMediaStore:
        return cls(data_dir / "media")

    def _path(self, media_id: str) -> Path:
        return self.root / media_id[:2] / media_id

    def put(self, content: bytes, mime_type: str, filename: str | None = None) -> StoredMedia:
        media_id = hashlib.sha256(content).hexdigest()
        path = self._path(media_id)
        meta_path = path.with_suffix(".json")
        if not path.exists():
            ensure_private_dir(path.parent)
            _write_atomically(meta_path, json.dumps(
                {"mime_type": mime_type, "filename": filename}).encode())
            _write_atomically(path, content)
        stored = self.get(media_id)
        assert stored is not None
        # The bytes are shared; the name and type are this upload's.
        return StoredMedia(media_id, path, mime_type, filename or stored.filename, len(content))

    def get(self, media_id: str) -> StoredMedia | None:
        if not MEDIA_ID.match(media_id):
            return None
        path = self._path(media_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            meta = {}
        return StoredMedia(media_id, path, meta.get("mime_type") or "application/octet-stream",
                           meta.get("filename"), size)

    def read(self, media_id: str) -> bytes:
        stored = self.get(media_id)
        if stored is None:
            raise FileNotFoundError(media_id)
        return stored.path.read_bytes()


def _write_atomically(path: Path, content: bytes) -> None:
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with os.fdopen(create_private(scratch, exclusive=True), "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(scratch, path)
