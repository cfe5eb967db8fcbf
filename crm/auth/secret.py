"""The server's secret key (signs the session cookie), never kept in the repository.

``CRM_SECRET_KEY`` when set; otherwise a random key generated once and kept in
``CRM_DATA_DIR/secret_key`` with mode 600, so restarts and every worker agree on it.
"""

from __future__ import annotations

from pathlib import Path

from crm.config import ConfigError, Settings
from crm.secret_files import read_or_create

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
    key = read_or_create(path, 48)
    if len(key) < MIN_LENGTH:
        raise ConfigError(f"{path}: the stored secret key is too short; delete the file")
    return key
