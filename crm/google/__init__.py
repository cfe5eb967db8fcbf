"""Google APIs through the official client libraries, with a service account.

``GOOGLE_API_URL`` (unset in production) moves every call to another base URL: tests
and the sandbox point it at a local fake that speaks the same REST protocol.
"""

from crm.google.clients import (
    DRIVE_SCOPES,
    SHEETS_SCOPES,
    GoogleConfigError,
    drive_service,
    load_credentials,
    sheets_client,
)

__all__ = ["DRIVE_SCOPES", "SHEETS_SCOPES", "GoogleConfigError", "drive_service",
           "load_credentials", "sheets_client"]
