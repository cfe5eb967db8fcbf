"""Filling a quick reply's ``{{name}}``, ``{{phone}}`` and ``{{agent}}``.

The server keeps quick replies as written; the composer fills them in for the chat
at hand. This is that rule, once, for the page and the tests to agree on: an unknown
placeholder is left as written, a known one with no value becomes empty.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
KNOWN = ("name", "phone", "agent")


def expand(text: str, *, name: str | None, phone: str, agent: str) -> str:
    values = {"name": name or "", "phone": phone, "agent": agent}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        return values[key] if key in values else match.group(0)

    return PLACEHOLDER.sub(fill, text)
