"""A request's JSON body, or None: never an exception for what a client sent.

Quart's ``get_json(silent=True)`` decodes the body as UTF-8 before its silent parsing,
so a body that is not UTF-8 raised ``UnicodeDecodeError`` and answered 500 (found by
the schema test). The body's size is bounded by the app's request limits.
"""

from __future__ import annotations

import json
from typing import Any

from quart import request


async def json_body(*, force: bool = False) -> Any:
    """The parsed body if it is JSON (or ``force``: whatever its content type), else None."""
    if not force and not request.is_json:
        return None
    raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return None
