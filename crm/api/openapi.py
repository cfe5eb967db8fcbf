"""``GET /api/openapi.json`` (signed-in agents): the OpenAPI 3 description of the JSON API.

Kept in the repository beside this module (``openapi.json``) and served as it is; the
schema test checks the live server against it, so the two cannot drift apart unseen.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from quart import Blueprint

blueprint = Blueprint("openapi", __name__)

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


@blueprint.get("/api/openapi.json")
async def openapi() -> dict[str, Any]:
    return document()
