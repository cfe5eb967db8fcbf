"""The media backend ``CRM_MEDIA_BACKEND`` names: local files or Google Drive.

Apart from the interface (``crm.media.store``), which the Drive backend builds on:
the choice knows both backends, the interface neither. Drive (and Google's client
library) is imported only when chosen.
"""

from __future__ import annotations

from crm.config import Settings
from crm.media.local import LocalMediaStore
from crm.media.store import LocalBackend, MediaStore


def media_store(settings: Settings) -> MediaStore:
    """The backend ``CRM_MEDIA_BACKEND`` names, ready to use."""
    if settings.media_backend == "drive":
        from crm.media.drive import DriveBackend

        return DriveBackend.from_settings(settings)
    return LocalBackend(LocalMediaStore.for_data_dir(settings.data_dir))
