"""Building the Drive v3 service and the gspread client from a service-account key.

Two traps are handled here once (see ``shared/docs/testing-google-clients.md``):
``client_options={"api_endpoint": ...}`` would leave uploads on https, so another
base URL goes into the discovery document's ``rootUrl`` instead; and gspread copies
its URLs at import, so its HTTP client rewrites them per request.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import gspread
from google.auth.credentials import Credentials
from google.oauth2 import service_account

#: Sheets read-only, plus Drive read-only for opening a spreadsheet by its name.
SHEETS_SCOPES = ("https://www.googleapis.com/auth/spreadsheets.readonly",
                 "https://www.googleapis.com/auth/drive.readonly")
#: Drive: upload into a folder shared with the service account, read back, share.
DRIVE_SCOPES = ("https://www.googleapis.com/auth/drive",)
#: Seconds before a Google call gives up (gspread has no timeout of its own).
TIMEOUT = 60.0

_GOOGLE_BASES = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class GoogleConfigError(Exception):
    """Google cannot be used as configured; the message names the setting."""


def load_credentials(path: Path | str | None, scopes: tuple[str, ...]) -> Credentials:
    """The service account of the key file ``GOOGLE_APPLICATION_CREDENTIALS``."""
    if not path:
        raise GoogleConfigError("GOOGLE_APPLICATION_CREDENTIALS is not set: it must name the "
                                "service account's JSON key file")
    key = Path(path)
    try:
        info = json.loads(key.read_text(encoding="utf-8"))
        return service_account.Credentials.from_service_account_info(info, scopes=scopes)
    except FileNotFoundError:
        raise GoogleConfigError(f"GOOGLE_APPLICATION_CREDENTIALS: no file {key}") from None
    except (ValueError, KeyError) as exc:
        raise GoogleConfigError(f"GOOGLE_APPLICATION_CREDENTIALS: {key} is not a service "
                                f"account key ({exc})") from None


class _HTTPClient(gspread.HTTPClient):
    """gspread's client, optionally sending every call to ``base_url`` instead."""

    def __init__(self, auth: Any, session: Any = None, *, base_url: str | None = None) -> None:
        super().__init__(auth, session)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = TIMEOUT

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        if self.base_url:
            for base in _GOOGLE_BASES:
                if endpoint.startswith(base):
                    endpoint = self.base_url + endpoint[len(base):]
                    break
        return super().request(method, endpoint, *args, **kwargs)


def sheets_client(credentials: Credentials, api_url: str | None = None) -> gspread.Client:
    # gspread only calls http_client(auth, session), but its hint asks for a class.
    factory = partial(_HTTPClient, base_url=api_url)
    return gspread.Client(auth=credentials, http_client=factory)  # type: ignore[arg-type]


def drive_service(credentials: Credentials, api_url: str | None = None) -> Any:
    """A Drive v3 service from the bundled discovery document (no network to build)."""
    import google_auth_httplib2
    import httplib2
    from googleapiclient.discovery import build_from_document
    from googleapiclient.discovery_cache import get_static_doc

    doc = json.loads(get_static_doc("drive", "v3"))
    if api_url:
        doc["rootUrl"] = api_url.rstrip("/") + "/"
        doc.pop("mtlsRootUrl", None)
    http = httplib2.Http(timeout=TIMEOUT)
    http.redirect_codes = http.redirect_codes - {308}  # 308 is "resume incomplete" here
    return build_from_document(doc, http=google_auth_httplib2.AuthorizedHttp(credentials,
                                                                             http=http))
