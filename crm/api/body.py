"""The JSON object a team route takes, or a clear 400."""

from __future__ import annotations

from typing import Any

from crm.api.errors import BadRequest
from crm.api.json_body import json_body


async def json_object() -> dict[str, Any]:
    body = await json_body(force=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object", code="bad_json")
    return body
