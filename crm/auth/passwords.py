"""Password hashing with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes).

Hashing takes a noticeable fraction of a second on purpose; async callers run these
functions in a thread.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crm.auth.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. With no stored hash (unknown name) it still
    spends the time of a verification, so timing does not reveal which names exist."""
    if not password or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def random_password() -> str:
    """A password for the first admin: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)
