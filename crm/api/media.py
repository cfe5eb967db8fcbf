"""``GET /media/<id>``: a kept file, to signed-in agents only (the global guard).

Files come from customers and from agents: only images, audio and video of known
types are shown inline; everything else is a download (``attachment``), and types a
browser would run (HTML, SVG, XML, scripts) are served as opaque bytes. The response
carries its own ``sandbox`` policy in case it is ever opened directly.
"""

from __future__ import annotations

from quart import Blueprint, Response, send_file

from crm.api.errors import NotFound
from crm.api.media_drive import drive_response
from crm.api.services import services
from crm.media.kinds import INLINE_TYPES, clean_filename, served_type
from crm.media.local import MEDIA_ID, LocalMediaStore

blueprint = Blueprint("media", __name__)

@blueprint.get("/media/<media_id>")
async def get_media(media_id: str) -> Response:
    if not MEDIA_ID.match(media_id):
        raise NotFound("no such file", code="unknown_media")
    store = LocalMediaStore.for_data_dir(services().settings.data_dir)
    stored = store.get(media_id)
    if stored is None:
        return await drive_response(media_id)  # kept on Google Drive, if anywhere
    inline = stored.mime_type in INLINE_TYPES
    response = await send_file(
        stored.path, mimetype=served_type(stored.mime_type), as_attachment=not inline,
        attachment_filename=None if inline else (clean_filename(stored.filename) or media_id),
        conditional=True)
    # Revalidated on each use (the ETag makes that a 304): a browser must not keep a
    # customer's file for a year after the agent signed out or lost access.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
