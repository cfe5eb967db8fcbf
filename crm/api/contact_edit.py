"""An agent's edit of a customer (``PATCH /api/customers/<key>``), checked.

``{"name": "Ana Silva", "attributes": {"City": "Porto", "Notes": null}}``: ``name`` sets
(or, with null or "", clears) the name; each attribute given sets its value (null or
"" removes it); attributes not named stay as they are. Only what actually changes is
recorded, and the event names those fields, so two agents editing different fields
at once both keep their edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.api.errors import BadRequest
from crm.events.customers import ATTRIBUTE_PREFIX

MAX_NAME = 200
MAX_KEY = 100
MAX_VALUE = 2000
MAX_ATTRIBUTES = 100


@dataclass(frozen=True)
class Edit:
    fields: list[str]
    name: str | None
    attributes: dict[str, str]


def _text(value: Any, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be text or null", code="bad_customer")
    value = value.strip()
    if len(value) > limit:
        raise BadRequest(f"{what} is {len(value)} characters; at most {limit}",
                         code="bad_customer")
    return value or None


def _key(raw: Any) -> str:
    key = " ".join(str(raw).split())
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise BadRequest(f"an attribute name is 1 to {MAX_KEY} printable characters",
                         code="bad_customer")
    return key


def edit_of(body: dict[str, Any], current: dict[str, Any] | None) -> Edit:
    """The fields that change and the customer as it will stand."""
    unknown = set(body) - {"name", "attributes"}
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))} (name, attributes)",
                         code="bad_customer")
    name = current["name"] if current else None
    attributes: dict[str, str] = dict(current["attributes"]) if current else {}
    fields: list[str] = []
    if "name" in body:
        given = _text(body["name"], "name", MAX_NAME)
        if given != name:
            fields.append("name")
            name = given
    raw = body.get("attributes", {})
    if not isinstance(raw, dict):
        raise BadRequest("attributes must be an object of name: text (null removes one)",
                         code="bad_customer")
    if len(raw) > MAX_ATTRIBUTES:
        raise BadRequest(f"at most {MAX_ATTRIBUTES} attributes at once", code="bad_customer")
    for raw_key, raw_value in raw.items():
        key = _key(raw_key)
        value = _text(raw_value, f"attribute {key!r}", MAX_VALUE)
        if attributes.get(key) == value:
            continue
        fields.append(ATTRIBUTE_PREFIX + key)
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    return Edit(fields=fields, name=name, attributes=attributes)
