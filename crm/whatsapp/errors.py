"""What a Graph API error means for us: try again, give up, or warn the admin.

Decisions follow Meta's ``code`` (and ``is_transient`` when Meta sets it), never the
HTTP status or the title, which Meta does not keep stable.
"""

from __future__ import annotations

import re
from typing import Any

from crm.whatsapp.codes import TRANSIENT_CODES, is_account_level

#: Meta prefixes its messages with the code: ``(#131047) Re-engagement message``.
_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")


class GraphError(Exception):
    """A Graph API call failed. ``code`` is Meta's (None for network errors and bare
    HTTP errors); ``transient`` says whether another attempt may succeed; ``ambiguous``
    that the request may have reached Meta (a timeout or a dropped connection after
    the request was written)."""

    def __init__(self, title: str, *, code: int | None = None, details: str | None = None,
                 http_status: int | None = None, transient: bool = False,
                 ambiguous: bool = False, subcode: int | None = None,
                 fbtrace_id: str | None = None) -> None:
        super().__init__(f"({code}) {title}" if code is not None else title)
        self.title = title
        self.code = code
        self.details = details
        self.http_status = http_status
        self.transient = transient
        self.ambiguous = ambiguous
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id

    @property
    def account_level(self) -> bool:
        return is_account_level(self.code)

    def as_dict(self) -> dict[str, Any]:
        """What ``message.failed`` records: Meta's code, title and details."""
        found: dict[str, Any] = {"code": self.code, "title": self.title,
                                 "details": self.details}
        if self.http_status is not None:
            found["http_status"] = self.http_status
        if self.subcode is not None:
            found["subcode"] = self.subcode
        if self.fbtrace_id:
            found["fbtrace_id"] = self.fbtrace_id
        return found


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def from_response(http_status: int, body: Any) -> GraphError:
    """The error of a non-2xx answer: Meta's ``{"error": {...}}`` or a bare status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(f"HTTP {http_status} without a Graph error body",
                          http_status=http_status, transient=http_status >= 500
                          or http_status == 429)
    code = _int(error.get("code"))
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    details = details or error.get("error_user_msg")
    title = (error.get("error_user_title") or _CODE_PREFIX.sub("", str(error.get("message") or ""))
             or f"HTTP {http_status}")
    transient = code in TRANSIENT_CODES if code is not None else http_status >= 500
    if error.get("is_transient") is True and not is_account_level(code):
        transient = True
    return GraphError(
        str(title), code=code, details=str(details) if details is not None else None,
        http_status=http_status, transient=transient, subcode=_int(error.get("error_subcode")),
        fbtrace_id=error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None,
    )
