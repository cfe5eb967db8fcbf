"""Numbers from query strings and headers, refused (400) unless SQLite can hold them.

SQLite integers are 64-bit: a position or a cursor beyond 2^63 - 1 would make the
query itself fail (a 500), so it is refused here as a bad parameter, like any number
that is not one (only ASCII digits count: ``int`` also takes ``١٢`` and ``1_0``).
"""

from __future__ import annotations

import math
import re

from crm.api.errors import BadRequest

MAX_INTEGER = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DIGITS = re.compile(r"-?[0-9]+")


def integer(raw: str, name: str, *, minimum: int | None = None) -> int:
    """``raw`` as a 64-bit integer, else ``BadRequest`` naming ``name``."""
    text = raw.strip()
    if not _INTEGER.fullmatch(text) or not -MAX_INTEGER - 1 <= int(text) <= MAX_INTEGER:
        raise BadRequest(f"{name} must be an integer below 2^63", code="bad_parameter")
    value = int(text)
    if minimum is not None and value < minimum:
        raise BadRequest(f"{name} must not be less than {minimum}", code="bad_parameter")
    return value


def number(raw: str, name: str) -> float:
    """A finite decimal number (a cursor's sort key), else ``BadRequest``."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"{name} is not a cursor this API gave out", code="bad_parameter")
    return value


def cursor(raw: str, name: str) -> str:
    """An opaque cursor whose ``:``-separated integer parts must each fit 64 bits (its
    shape is the caller's to check)."""
    for piece in raw.split(":"):
        if _DIGITS.fullmatch(piece) and not (
                _INTEGER.fullmatch(piece) and -MAX_INTEGER - 1 <= int(piece) <= MAX_INTEGER):
            raise BadRequest(f"{name} is not a cursor this API gave out",
                             code="bad_parameter")
    return raw
