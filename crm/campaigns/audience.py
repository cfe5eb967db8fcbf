"""Who a campaign is for: labels, customer attributes, phones and an uploaded CSV.

Resolved once, when the campaign is created (the recipients are then recorded and
frozen). Criteria add up: a customer matching any label, every attribute filter (as a
group), a listed phone or a CSV row is in; each phone once, in a stable order.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crm.customers.phones import BadPhone, normalise_phone
from crm.customers.table import MissingColumn, read_table


class BadAudience(ValueError):
    """The audience cannot be resolved as given (a bad phone, an unreadable CSV)."""


@dataclass
class Audience:
    phones: list[str] = field(default_factory=list)
    #: Lines of the CSV (or phones) that were not numbers, with why.
    rejected: list[str] = field(default_factory=list)


def csv_phones(content: bytes, phone_column: str,
               default_country_code: str | None) -> Audience:
    """The phones of a CSV with a header row (the ``Phone`` column, else the first)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadAudience("the CSV is not UTF-8 text: save it as 'CSV UTF-8'") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        return Audience()
    headers = [h.strip().casefold() for h in rows[0]]
    column = phone_column if phone_column.casefold() in headers else (rows[0] or [""])[0]
    try:
        table = read_table(rows, phone_column=column, name_column="name",
                           default_country_code=default_country_code)
    except MissingColumn as exc:
        raise BadAudience(str(exc)) from None
    return Audience([c.phone for c in table.customers],
                    [f"row {b.row}: {b.reason}" for b in table.bad])


def _labelled(conn: sqlite3.Connection, labels: list[str]) -> list[str]:
    if not labels:
        return []
    keys = [" ".join(str(n).split()).casefold() for n in labels]
    return [p for (p,) in conn.execute(
        "SELECT DISTINCT cl.phone FROM chat_labels cl JOIN labels l ON l.id = cl.label_id "
        f"WHERE l.name_key IN ({','.join('?' * len(keys))}) OR l.id IN "
        f"({','.join('?' * len(labels))}) ORDER BY cl.phone", (*keys, *labels))]


def _with_attributes(conn: sqlite3.Connection, wanted: dict[str, Any]) -> list[str]:
    if not wanted:
        return []
    found = []
    for phone, attributes in conn.execute("SELECT phone, attributes FROM customers "
                                          "ORDER BY phone"):
        have = json.loads(attributes)
        if all(str(have.get(k, "")).strip().casefold() == str(v).strip().casefold()
               for k, v in wanted.items()):
            found.append(phone)
    return found


def resolve(conn: sqlite3.Connection, spec: dict[str, Any], csv_audience: Audience | None,
            default_country_code: str | None) -> Audience:
    """Every phone of ``spec`` (``labels``, ``attributes``, ``phones``) and the CSV's."""
    audience = Audience()
    seen: set[str] = set()

    def add(phones: Iterable[str]) -> None:
        for phone in phones:
            if phone not in seen:
                seen.add(phone)
                audience.phones.append(phone)

    add(_labelled(conn, [str(x) for x in spec.get("labels") or []]))
    add(_with_attributes(conn, dict(spec.get("attributes") or {})))
    listed = []
    for raw in spec.get("phones") or []:
        try:
            listed.append(normalise_phone(str(raw), default_country_code))
        except BadPhone as exc:
            audience.rejected.append(f"{raw}: {exc}")
    add(listed)
    if csv_audience is not None:
        add(csv_audience.phones)
        audience.rejected.extend(csv_audience.rejected)
    return audience


def customers_of(conn: sqlite3.Connection, phones: list[str]) -> dict[str, dict[str, Any]]:
    """The customer rows (name, attributes) of ``phones``; absent ones are missing."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(phones), 500):
        chunk = phones[start:start + 500]
        for phone, name, attributes in conn.execute(
                f"SELECT phone, name, attributes FROM customers WHERE phone IN "
                f"({','.join('?' * len(chunk))})", chunk):
            found[phone] = {"phone": phone, "name": name,
                            "attributes": json.loads(attributes)}
    return found
