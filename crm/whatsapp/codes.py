"""Meta's error codes, sorted by what they mean for us.

Decisions follow Meta's ``code`` (and ``is_transient`` when Meta sets it), never the
HTTP status or the title, which Meta does not keep stable. The sender decides with
them when to try again, and the ``channel`` projection when to raise the channel's
health flag from a recorded ``message.failed``.
"""

from __future__ import annotations

#: Worth another attempt after a pause: throughput and pair rate limits, Meta's own
#: "unknown" and "service unavailable", account maintenance, app-level rate limits.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057, 133004})

#: Problems of the account, not of one message (expired token, missing permission,
#: locked or restricted account, payment, registration, quality): they raise the
#: channel's health flag. 200-299 are permissions too.
ACCOUNT_CODES = frozenset({0, 3, 10, 190, 368, 130497, 131031, 131042, 131045, 131048,
                           131064, 133010})


def is_account_level(code: object) -> bool:
    return isinstance(code, int) and not isinstance(code, bool) and (
        code in ACCOUNT_CODES or 200 <= code <= 299)
