"""What an agent fills in to send a template, read from Meta's definition of it.

``GET /api/templates`` lists each template's ``parameters`` in this form, so the page
renders a field for each without knowing Meta's component grammar:

* ``{"component": "header", "type": "text", "name": "1", "example": "Ana"}``: a
  variable of a text header (``name`` is ``1``, ``2``... or the named parameter);
* ``{"component": "header", "type": "image" | "video" | "document", "example": url}``:
  a media header, sent with an uploaded file or a file already in the thread;
* ``{"component": "header", "type": "location"}``: latitude, longitude, name, address;
* ``{"component": "body", "type": "text", "name": ..., "example": ...}``;
* ``{"component": "button", "index": 0, "sub_type": "url", "type": "text", "text":
  button label, "url": "https://x.example/{{1}}", "example": ...}``: the URL's suffix;
* ``{"component": "button", "index": 1, "sub_type": "quick_reply", "type": "payload",
  "text": "Confirm", "required": false}``: what Meta sends back when it is tapped;
* ``{"component": "button", "index": 2, "sub_type": "copy_code", "type":
  "coupon_code", "example": ...}``: the code the customer copies.

Whatever Meta's template has that an agent cannot fill here (a carousel, a limited
time offer, catalog buttons) is named in ``unsupported``; those templates are listed
but marked, never sent half-filled.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
#: Buttons the customer taps without anything for us to fill.
PLAIN_BUTTONS = frozenset({"PHONE_NUMBER", "VOICE_CALL", "OTP", "FLOW"})


def names(text: Any) -> list[str]:
    """The placeholders of a text, in order of first appearance."""
    seen: list[str] = []
    for match in PLACEHOLDER.finditer(str(text or "")):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def _examples(example: Any, positional: str, named: str) -> dict[str, str]:
    """Meta's examples by placeholder name (``body_text`` is a list in a list)."""
    if not isinstance(example, dict):
        return {}
    found: dict[str, str] = {}
    listed = example.get(positional)
    if isinstance(listed, list) and listed and isinstance(listed[0], list):
        listed = listed[0]
    if isinstance(listed, list):
        found.update({str(i + 1): str(v) for i, v in enumerate(listed)})
    for item in example.get(named) or []:
        if isinstance(item, dict) and item.get("param_name"):
            found[str(item["param_name"])] = str(item.get("example", ""))
    return found


def _text_parameters(component: dict[str, Any], where: str, positional: str,
                     named: str) -> list[dict[str, Any]]:
    hints = _examples(component.get("example"), positional, named)
    return [{"component": where, "type": "text", "name": name, "example": hints.get(name)}
            for name in names(component.get("text"))]


def _header(component: dict[str, Any]) -> list[dict[str, Any]]:
    format_ = str(component.get("format") or "TEXT").upper()
    if format_ == "TEXT":
        return _text_parameters(component, "header", "header_text",
                                "header_text_named_params")
    if format_ in MEDIA_FORMATS:
        handles = (component.get("example") or {}).get("header_handle") or []
        return [{"component": "header", "type": MEDIA_FORMATS[format_],
                 "example": handles[0] if handles else None}]
    if format_ == "LOCATION":
        return [{"component": "header", "type": "location"}]
    return []


def _buttons(component: dict[str, Any], unsupported: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for index, button in enumerate(component.get("buttons") or []):
        if not isinstance(button, dict):
            continue
        kind = str(button.get("type") or "").upper()
        label = button.get("text")
        if kind == "URL":
            if names(button.get("url")):
                example = button.get("example")
                found.append({"component": "button", "index": index, "sub_type": "url",
                              "type": "text", "text": label, "url": button.get("url"),
                              "example": example[0] if isinstance(example, list) and example
                              else example})
        elif kind == "QUICK_REPLY":
            found.append({"component": "button", "index": index, "sub_type": "quick_reply",
                          "type": "payload", "text": label, "required": False})
        elif kind == "COPY_CODE":
            example = button.get("example")
            found.append({"component": "button", "index": index, "sub_type": "copy_code",
                          "type": "coupon_code", "text": label,
                          "example": example[0] if isinstance(example, list) and example
                          else example})
        elif kind not in PLAIN_BUTTONS:
            unsupported.append(f"{kind.lower() or 'unknown'} button")
    return found


def parameters(template: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """``(parameters, unsupported)`` of one template as Meta lists it."""
    found: list[dict[str, Any]] = []
    unsupported: list[str] = []
    for component in template.get("components") or []:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type") or "").upper()
        if kind == "HEADER":
            found += _header(component)
        elif kind == "BODY":
            found += _text_parameters(component, "body", "body_text", "body_text_named_params")
        elif kind == "BUTTONS":
            found += _buttons(component, unsupported)
        elif kind != "FOOTER":
            unsupported.append(kind.lower() or "unknown component")
    return found, unsupported


def media_header(template: dict[str, Any]) -> str | None:
    """``image``, ``video`` or ``document`` when the template's header is that media."""
    for component in template.get("components") or []:
        if isinstance(component, dict) and str(component.get("type")).upper() == "HEADER":
            return MEDIA_FORMATS.get(str(component.get("format") or "").upper())
    return None


def with_header_media(components: list[dict[str, Any]], kind: str,
                      media: dict[str, Any]) -> list[dict[str, Any]]:
    """The components with the header's one parameter set to ``media`` (Meta's
    ``{"id": ...}`` or ``{"link": ...}``, plus ``filename`` for a document)."""
    header = {"type": "header", "parameters": [{"type": kind, kind: media}]}
    rest = [c for c in components if str(c.get("type")).lower() != "header"]
    return [header, *rest]
