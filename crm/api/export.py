"""``GET /api/export``: the log as JSONL or CSV, streamed, for admins only.

The same filters as ``crm export`` (``format``, ``phone``, ``since``, ``until``,
``type``) as query parameters. The body is produced one page at a time on a reader
thread, so a million-event export holds one page in memory, and the server keeps
answering everyone else meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, request

from crm.api.errors import BadRequest, ServiceUnavailable
from crm.api.guard import require_admin
from crm.api.services import Services, services
from crm.audit.export import FORMATS, ExportSpec, begin, fetch_page, header
from crm.audit.filters import FilterError, make_filters

blueprint = Blueprint("export", __name__)

MIMETYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


class ExportInterrupted(Exception):
    """The server is stopping: the response is cut short rather than ended cleanly,
    so a client can never mistake a truncated export for a complete one."""


@blueprint.get("/api/export")
async def export() -> Response:
    require_admin()
    args = request.args
    format = args.get("format") or "jsonl"
    if format not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}", code="bad_parameter")
    try:
        filters = make_filters(args.get("phone"), args.get("type"), args.get("since"),
                               args.get("until"))
    except FilterError as exc:
        raise BadRequest(str(exc), code="bad_parameter") from None
    crm = services()
    if crm.stopping.is_set():
        raise ServiceUnavailable("the server is stopping")
    spec = await crm.db.read(begin, format, filters)
    response = Response(_body(crm, spec), mimetype=MIMETYPES[format])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="crm-export-{spec.upto}.{format}"')
    response.headers["Cache-Control"] = "no-store"
    response.timeout = None  # as long as it takes: Quart's default would cut it at 60 s
    return response


async def _body(crm: Services, spec: ExportSpec) -> AsyncIterator[bytes]:
    """Runs after the view returned, outside the app context: it is handed what it uses."""
    first = header(spec)
    if first:
        yield first.encode("utf-8")
    after = 0
    while True:
        if crm.stopping.is_set():
            raise ExportInterrupted("the server is stopping")
        page = await crm.db.read(fetch_page, spec, after)
        if page.text:
            yield page.text.encode("utf-8")
        if page.done:
            return
        after = page.last
