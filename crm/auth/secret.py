"""The server's secret key (signs the session cookie), never kept in the repository.

``CRM_SECRET_KEY`` when set; otherwise a random key generated once and kept in
``CRM_DATA_DIR/secret_key`` with mode 600, so restarts and every worker agree on it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from crm.config import ConfigError, Settings

FILE_NAME = "secret_key"
MIN_LENGTH = 16


def secret_key(settings: Settings) -> str:
    configured = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if configured:
        if len(configured) < MIN_LENGTH:
            raise ConfigError(f"CRM_SECRET_KEY: needs at least {MIN_LENGTH} characters")
        return configured
    return _stored_key(settings.data_dir / FILE_NAME)


def _stored_key(path: Path) -> str:
    """Read the key, creating it first if needed. Safe when several processes race:
    the key is written to a private temporary file and linked into place atomically."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < MIN_LENGTH:
        raise ConfigError(f"{path}: the stored secret key is too short; delete the file")
    return key
