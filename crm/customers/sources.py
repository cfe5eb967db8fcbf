"""Where the customer list comes from: a Google Sheet (gspread) or a CSV file.

Both give rows of text, header first. The sheet is read as displayed
(``get_all_values``), not through ``get_all_records``, which turns ``0049...`` into a
number and loses the zeros a phone number needs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from crm.config import Settings

#: A CSV file bigger than this is refused (the whole list is read into memory).
MAX_CSV_BYTES = 50 * 1024 * 1024


class SourceError(Exception):
    """The list could not be read; the message says what to fix."""


@dataclass(frozen=True)
class Rows:
    source: str
    rows: list[list[str]]


def read_sheet(settings: Settings) -> Rows:
    """The worksheet ``GOOGLE_SHEET_WORKSHEET`` of ``GOOGLE_SHEET_ID`` (or, by title,
    ``GOOGLE_SHEET_NAME``), read with the service account."""
    import gspread
    import requests
    from google.auth.exceptions import GoogleAuthError

    from crm.google import SHEETS_SCOPES, GoogleConfigError, load_credentials, sheets_client

    if not settings.google_sheet_id and not settings.google_sheet_name:
        raise SourceError("set GOOGLE_SHEET_ID (the id in the sheet's address) or "
                          "GOOGLE_SHEET_NAME (its title)")
    try:
        credentials = load_credentials(settings.google_application_credentials, SHEETS_SCOPES)
        client = sheets_client(credentials, settings.google_api_url)
        if settings.google_sheet_id:
            spreadsheet = client.open_by_key(settings.google_sheet_id)
            source = f"sheet:{settings.google_sheet_id}"
        else:
            assert settings.google_sheet_name  # one of the two, checked above
            spreadsheet = client.open(settings.google_sheet_name)
            source = f"sheet:{settings.google_sheet_name}"
        worksheet = spreadsheet.worksheet(settings.google_sheet_worksheet)
        return Rows(source, worksheet.get_all_values())
    except GoogleConfigError as exc:
        raise SourceError(str(exc)) from None
    except gspread.SpreadsheetNotFound:
        which = settings.google_sheet_id or settings.google_sheet_name
        raise SourceError(f"no spreadsheet {which!r} visible to the service account: share "
                          "it with the service account's e-mail address") from None
    except gspread.WorksheetNotFound:
        raise SourceError(f"the spreadsheet has no worksheet "
                          f"{settings.google_sheet_worksheet!r} (GOOGLE_SHEET_WORKSHEET)") from None
    except gspread.exceptions.APIError as exc:
        raise SourceError(f"Google Sheets refused: {exc}") from None
    except (GoogleAuthError, requests.RequestException) as exc:
        raise SourceError(f"could not reach Google Sheets: {exc}") from None


def read_csv(path: Path) -> Rows:
    """A CSV file with a header row; comma, semicolon or tab separated, UTF-8 (with or
    without the BOM spreadsheet programs write)."""
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise SourceError(f"{path} is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"no file {path}") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text: save it as 'CSV UTF-8'") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return Rows(f"csv:{path.name}", [row for row in csv.reader(io.StringIO(text), dialect)])
