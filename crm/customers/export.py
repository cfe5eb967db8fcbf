"""The contact list as CSV, for people who open it in a spreadsheet.

One row per contact (``crm.projections.contacts``), its fixed columns first, then one
column per customer attribute any customer has, sorted. Every cell, the attribute
names in the header included (they come from the sheet and from agents), goes
through the audit export's formula guard (``crm.audit.export.neutralise``): a name
such as ``=HYPERLINK(...)`` opens as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from crm.audit.export import neutralise

FORMATS = ("csv",)

COLUMNS = ("key", "phone", "user_id", "username", "name", "labels", "opted_out",
           "first_contact", "last_contact", "chat_status", "assignee", "source")


class ExportFormatError(ValueError):
    """A format the contact export does not write."""


def check_format(format: str) -> str:
    if format not in FORMATS:
        raise ExportFormatError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    return format


def _line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerow([neutralise(c) for c in cells])
    return buffer.getvalue()


def header(attributes: list[str]) -> str:
    """The byte-order mark (spreadsheets then read UTF-8) and the column names."""
    return "\ufeff" + _line([*COLUMNS, *attributes])


def row(contact: dict[str, Any], attributes: list[str]) -> str:
    values = {**contact, "labels": ", ".join(contact.get("labels") or []),
              "opted_out": "yes" if contact.get("opted_out") else "no",
              "chat_status": contact.get("status") or ""}
    given = contact.get("attributes") or {}
    return _line([*(values.get(c) for c in COLUMNS), *(given.get(a) for a in attributes)])


def lines(contacts: Iterable[dict[str, Any]], attributes: list[str]) -> Iterator[str]:
    yield header(attributes)
    for contact in contacts:
        yield row(contact, attributes)
