"""``X-Hub-Signature-256``: proof that a webhook body came from Meta.

The HMAC is over the raw request bytes exactly as received. Meta escapes non-ASCII
text (``\\u00e9``) in the JSON it signs, so hashing a re-serialised body would refuse
every message with an accent or an emoji.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


class SignatureError(Exception):
    """The signature is missing, malformed or wrong; the message says which."""


def sign(secret: str | bytes, body: bytes) -> str:
    """The header value Meta would send for ``body``: ``sha256=<hex>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> None:
    """Raise ``SignatureError`` unless ``header`` signs ``body`` with ``secret``.

    The comparison is constant-time, so a forger learns nothing from how long a
    refusal took.
    """
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header")
    header = header.strip()
    if not header.lower().startswith(PREFIX):
        raise SignatureError("X-Hub-Signature-256 does not start with sha256=")
    given = header[len(PREFIX):].strip().lower()
    try:
        valid = len(given) == 64 and len(bytes.fromhex(given)) == 32
    except ValueError:
        valid = False
    if not valid:
        raise SignatureError("X-Hub-Signature-256 is not a 64-digit hex digest")
    expected = sign(secret, body)[len(PREFIX):]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("X-Hub-Signature-256 does not match the body")
