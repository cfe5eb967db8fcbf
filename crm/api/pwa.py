"""``/sw.js`` and ``/manifest.webmanifest``: what makes the inbox an installable app.

The service worker is served from the site's root, not ``/static/``, because a worker
controls only the pages under the folder it was served from. Both are public like the
static files (the browser fetches the manifest without cookies, and the sign-in page
registers the worker before anyone is signed in); neither holds anything but our code.

The worker's text carries the static files' version (``asset_version``): a new version of
any static file changes the worker's bytes, so the browser installs the new worker, which
fills a cache of the new name and deletes the old ones. It never stores ``/api/`` answers
or pages (see ``web/pwa/sw.js``).
"""

from __future__ import annotations

import json
from pathlib import Path

from quart import Blueprint, Response

from crm.api.guard import public
from crm.api.pages import STATIC, WEB, asset_version

blueprint = Blueprint("pwa", __name__)

WORKER = WEB / "pwa" / "sw.js"
MANIFEST = WEB / "pwa" / "manifest.json"


def shell_files(root: Path = STATIC) -> list[str]:
    """The static shell the worker keeps for offline use: every static file's URL."""
    return sorted("/static/" + str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.suffix in {".css", ".js", ".png", ".svg", ".html"}
                  and p.name != "input.css")


def worker_text() -> str:
    version = asset_version()
    header = (f"const VERSION = {json.dumps(version)};\n"
              f"const SHELL = {json.dumps(shell_files())};\n")
    return header + WORKER.read_text()


@blueprint.get("/sw.js")
@public
async def service_worker() -> Response:
    response = Response(worker_text(), content_type="text/javascript; charset=utf-8")
    # Checked on every open: the browser compares the bytes to install a new version.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@blueprint.get("/manifest.webmanifest")
@public
async def manifest() -> Response:
    response = Response(MANIFEST.read_text(), content_type="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
