"""API tokens: long random strings shown once; only their SHA-256 is kept.

A token is ``crm_`` followed by 43 URL-safe characters (256 bits). It needs no slow
hash: nobody can guess 256 random bits, so SHA-256 is enough to make a stolen
database useless for calling the API.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "crm_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    """The public handle of a token (``crm tokens list``, ``crm tokens revoke ID``)."""
    return secrets.token_hex(6)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
