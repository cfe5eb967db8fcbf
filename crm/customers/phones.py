"""Phone numbers as WhatsApp writes them: digits only, country code first.

A sheet holds numbers as people type them: ``+49 151 2345-678``, ``0049...``,
``(0151) 2345678``. International forms keep their digits; a local number (a leading
trunk ``0``, or no prefix and at most ``LOCAL_MAX_DIGITS`` digits) gets the default
country code. Anything else (letters, too few or too many digits) is refused with a
reason, because a wrong guess would put a name on a stranger's chat.
"""

from __future__ import annotations

import re

#: Separators people put in numbers; anything else but digits and a leading + is refused.
_SEPARATORS = re.compile(r"[\s\-().\/\u00a0]")
_DIGITS = re.compile(r"\+?\d+")
#: Without ``+`` or ``00``, this many digits or fewer is a local number.
LOCAL_MAX_DIGITS = 10
MIN_DIGITS, MAX_DIGITS = 8, 15


class BadPhone(ValueError):
    """This text is not a phone number we can put a country code on; says why."""


def normalise_country_code(code: str | None) -> str | None:
    """``+852``, ``00852`` and ``852`` are the same default country code."""
    if code is None or not code.strip():
        return None
    digits = code.strip().lstrip("+")
    digits = digits[2:] if digits.startswith("00") else digits
    if not digits.isdigit() or not 1 <= len(digits) <= 3 or digits.startswith("0"):
        raise BadPhone(f"{code!r} is not a country calling code (1 to 3 digits)")
    return digits


def normalise_phone(text: str, default_country_code: str | None = None) -> str:
    """The digits-only international form of ``text``, or ``BadPhone``."""
    raw = (text or "").strip()
    if not raw:
        raise BadPhone("no phone number")
    compact = _SEPARATORS.sub("", raw)
    if not _DIGITS.fullmatch(compact):
        raise BadPhone(f"{raw!r} is not a phone number")
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0") or len(compact) <= LOCAL_MAX_DIGITS:
        if default_country_code is None:
            raise BadPhone(f"{raw!r} looks like a local number and CRM_DEFAULT_COUNTRY_CODE "
                           "is not set")
        digits = default_country_code + compact.removeprefix("0")
    else:
        digits = compact
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or digits.startswith("0"):
        raise BadPhone(f"{raw!r} has {len(digits)} digits with its country code; "
                       f"a WhatsApp number has {MIN_DIGITS} to {MAX_DIGITS}")
    return digits
