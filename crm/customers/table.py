"""Rows with a header row become customers; bad rows are reported, never guessed at.

Columns are found by their header (case and surrounding spaces ignored), so the
business may reorder or add columns freely: one column is the phone, one the name,
and every other column with a header becomes an attribute. Row numbers are the
sheet's (the header is row 1), so a report points at the row to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

from crm.customers.phones import BadPhone, normalise_phone


class MissingColumn(ValueError):
    """The header row has no column with the configured name."""


@dataclass(frozen=True)
class Customer:
    row: int
    phone: str
    name: str | None
    attributes: dict[str, str]


@dataclass(frozen=True)
class BadRow:
    row: int
    reason: str


@dataclass
class Table:
    customers: list[Customer] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def _key(header: str) -> str:
    return " ".join(str(header).split()).casefold()


def _headers(header_row: Sequence[str]) -> list[str]:
    """Header texts, with repeats made unique (``Notes``, ``Notes 2``)."""
    seen: dict[str, int] = {}
    out = []
    for cell in header_row:
        text = " ".join(str(cell).split())
        if text:
            count = seen.get(_key(text), 0) + 1
            seen[_key(text)] = count
            if count > 1:
                text = f"{text} {count}"
        out.append(text)
    return out


@overload
def _column(headers: list[str], wanted: str, required: Literal[True]) -> int: ...
@overload
def _column(headers: list[str], wanted: str, required: bool) -> int | None: ...
def _column(headers: list[str], wanted: str, required: bool) -> int | None:
    for index, header in enumerate(headers):
        if header and _key(header) == _key(wanted):
            return index
    if required:
        shown = ", ".join(repr(h) for h in headers if h) or "none"
        raise MissingColumn(f"no column {wanted!r} in the header row (columns: {shown})")
    return None


def read_table(rows: Iterable[Sequence[object]], *, phone_column: str, name_column: str,
               default_country_code: str | None = None, first_row: int = 1) -> Table:
    """Customers and bad rows of ``rows`` (the first is the header row).

    A duplicate phone keeps the first row and reports the others: which of two
    different names is right is the business's call, not ours.
    """
    iterator = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        raise MissingColumn(f"the sheet is empty: no header row with {phone_column!r}")
    headers = _headers([str(c) for c in header_row])
    phone_at = _column(headers, phone_column, required=True)
    name_at = _column(headers, name_column, required=False)
    table = Table()
    first_seen: dict[str, int] = {}
    for number, row in enumerate(iterator, start=first_row + 1):
        cells = [("" if c is None else str(c)).strip() for c in row]
        if not any(cells):  # spacing in a sheet: skipped without a report
            continue
        cells += [""] * (len(headers) - len(cells))
        try:
            phone = normalise_phone(cells[phone_at], default_country_code)
        except BadPhone as exc:
            table.bad.append(BadRow(number, str(exc)))
            continue
        if phone in first_seen:
            table.bad.append(BadRow(number, f"duplicate phone {phone} (first in row "
                                            f"{first_seen[phone]})"))
            continue
        first_seen[phone] = number
        attributes = {h: cells[i] for i, h in enumerate(headers)
                      if h and i not in (phone_at, name_at) and cells[i]}
        name = cells[name_at] if name_at is not None and cells[name_at] else None
        table.customers.append(Customer(number, phone, name, attributes))
    return table
