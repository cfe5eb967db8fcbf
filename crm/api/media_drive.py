"""Serving files kept on Google Drive through ``/media/<id>``, to signed-in agents.

The Drive copy stays private: this process reads it with the service account and
answers with the same safe headers as a local file (``crm.api.media``). The Drive
client is made once per process, on first use.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

from quart import Response, send_file

from crm.api.errors import NotFound, ServiceUnavailable
from crm.api.services import services
from crm.media.kinds import INLINE_TYPES, clean_filename, mime_of, served_type
from crm.media.store import MediaStoreError
from crm.projections.media import get_file

if TYPE_CHECKING:
    from crm.media.drive import DriveBackend


def _drive() -> DriveBackend:
    crm = services()
    if crm.drive is None:
        from crm.google import GoogleConfigError
        from crm.media.drive import DriveBackend

        try:
            crm.drive = DriveBackend.from_settings(crm.settings)
        except GoogleConfigError as exc:
            raise ServiceUnavailable(f"this file is on Google Drive, which is not "
                                     f"configured: {exc}", code="media_unavailable") from None
    return crm.drive


async def drive_response(media_id: str) -> Response:
    """The file ``media_id`` read back from Drive, or ``NotFound``."""
    found = await services().db.read(get_file, media_id)
    if found is None or found["backend"] != "drive":
        raise NotFound("no such file", code="unknown_media")
    try:
        content = await asyncio.to_thread(_drive().read, found["ref"])
    except MediaStoreError as exc:
        raise ServiceUnavailable(str(exc), code="media_unavailable") from None
    mime = mime_of(found["mime_type"], found["filename"])
    inline = mime in INLINE_TYPES
    response = await send_file(
        io.BytesIO(content), mimetype=served_type(mime), as_attachment=not inline,
        attachment_filename=None if inline else (clean_filename(found["filename"])
                                                  or media_id),
        conditional=False)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
