"""API tokens: long random strings shown once; only their SHA-256 is kept.

A token is ``crm_`` followed by 43 URL-safe characters (256 bits). It needs no slow
hash: nobody can guess 256 random bits, so SHA-256 is enough to make a stolen
database useless for calling the API.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from crm.auth.errors import BadDuration

PREFIX = "crm_"

_DURATION = re.compile(r"([1-9][0-9]{0,5})\s*([wdhm])", re.ASCII)
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1)}
#: Expiry times are whole seconds in one fixed format, so they compare as text.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    """The public handle of a token (``crm tokens list``, ``crm tokens revoke ID``)."""
    return secrets.token_hex(6)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w`` (weeks, days, hours, minutes)."""
    match = _DURATION.fullmatch((text or "").strip().lower())
    if not match:
        raise BadDuration(f"{text!r} is not a duration like 90d, 12h or 30m")
    try:
        return int(match.group(1)) * _UNITS[match.group(2)]
    except OverflowError:
        raise BadDuration(f"{text!r} is too long") from None


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def expiry(lifetime: timedelta | None, now: datetime | None = None) -> str | None:
    """When a token made now for ``lifetime`` stops working (whole seconds, UTC)."""
    if lifetime is None:
        return None
    try:
        return time_text((now or datetime.now(UTC)) + lifetime)
    except OverflowError:
        raise BadDuration("that lifetime ends after the year 9999") from None


def now_text() -> str:
    return time_text(datetime.now(UTC))
