"""Meta's webhook body -> events. Pure: bytes in, events out, no clock, no I/O.

Every entry, every change, every message, status and error becomes an event: never
just the first (Meta batches up to 1000 updates in one POST). Every event carries an
idempotency key, so Meta's retries of the same body give the same log as one delivery:

* ``wa:<wamid>`` for a message, ``wa:<wamid>:<status>`` for a status;
* ``wa:change:<digest>`` / ``wa:error:<digest>`` for other fields and account errors,
  a digest of what they say;
* ``wa:unparsed:<sha256 of the body>`` for a body, or a part of one, we cannot read.

A body that is not JSON, or JSON we cannot understand, is kept byte for byte
(``webhook.unparsed``): it came from Meta, and refusing it would only make Meta send
it again for a week. The parts of a body we do understand are still recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from typing import Any

from crm.events import NewEvent
from crm.events.hashing import canonical_json
from crm.events.messages import WebhookChange, WebhookError, WebhookUnparsed
from crm.whatsapp import coexistence
from crm.whatsapp.identifiers import contact_link
from crm.whatsapp.inbound import (
    ACTOR,
    Unreadable,
    chat_key,
    epoch,
    message_events,
    status_error,
    status_events,
)

#: The stream of everything that is not one conversation's.
WEBHOOK_STREAM = "webhook"

#: What a ``messages`` change may carry that we turn into message events.
_MESSAGE_PARTS = ("messages", "statuses", "errors")

#: Fields whose changes become conversations (when they are for our number).
_CONVERSATION_FIELDS = ("messages", "smb_message_echoes", "history")

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:32]


def unparsed_event(body: bytes, reason: str, received_at: datetime) -> NewEvent:
    """The whole body, base64, with why we could not read it."""
    return WebhookUnparsed(
        body_b64=base64.b64encode(body).decode("ascii"), reason=reason[:1000]
    ).new(WEBHOOK_STREAM, actor=ACTOR, occurred_at=received_at,
          idempotency_key=f"wa:unparsed:{hashlib.sha256(body).hexdigest()}")


def _load(body: bytes) -> Any:
    """JSON, or ``Unreadable``. Rejects what the log could not store faithfully."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Unreadable(f"not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(body):
        try:
            canonical_json(payload).encode("utf-8")
        except UnicodeEncodeError:
            raise Unreadable("JSON with an unpaired UTF-16 surrogate") from None
    return payload


def parse_webhook(body: bytes, received_at: datetime,
                  phone_number_id: str | None = None) -> list[NewEvent]:
    """The events one signed POST body stands for, in the order Meta listed them.

    ``received_at`` is the fallback for ``occurred_at`` when Meta gives no timestamp.
    With ``phone_number_id`` (``WHATSAPP_PHONE_NUMBER_ID``), a change whose metadata
    names another of the account's numbers stays in the log as ``webhook.change``
    instead of becoming chats of this inbox. Never raises for any input: what cannot
    be read becomes ``webhook.unparsed``.
    """
    try:
        payload = _load(body)
    except Unreadable as exc:
        return [unparsed_event(body, str(exc), received_at)]
    entries = payload.get("entry") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return [unparsed_event(body, "JSON without an entry list", received_at)]

    events: list[NewEvent] = []
    problems: list[str] = []
    for entry in entries:
        try:
            _entry(entry, received_at, phone_number_id, events, problems)
        except Unreadable as exc:
            problems.append(str(exc))
    if problems:
        reason = "; ".join(dict.fromkeys(problems))
        events.append(unparsed_event(body, reason, received_at))
    return events


def _entry(entry: Any, received_at: datetime, phone_number_id: str | None,
           events: list[NewEvent], problems: list[str]) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
        raise Unreadable("an entry without a changes list")
    for change in entry["changes"]:
        try:
            _change(entry, change, received_at, phone_number_id, events, problems)
        except Unreadable as exc:
            problems.append(str(exc))


def _other_number(value: dict[str, Any], expected: str | None) -> bool:
    """The change is for another number than ours (one it names, and not ours)."""
    if expected is None:
        return False
    metadata = value.get("metadata")
    found = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return found is not None and str(found) != expected


def _change(entry: dict[str, Any], change: Any, received_at: datetime,
            phone_number_id: str | None, events: list[NewEvent],
            problems: list[str]) -> None:
    if not isinstance(change, dict):
        raise Unreadable("a change that is not an object")
    field, value = change.get("field"), change.get("value")
    if not isinstance(field, str) or not field:
        raise Unreadable("a change without a field name")
    if not isinstance(value, dict):
        raise Unreadable(f"a {field} change without a value object")
    has_parts = any(value.get(part) is not None for part in _MESSAGE_PARTS)
    if field in _CONVERSATION_FIELDS and _other_number(value, phone_number_id):
        events.append(_other(entry, field, value, received_at))
    elif field == "messages" and has_parts:
        _messages(entry, value, received_at, events, problems)
    elif field == "smb_message_echoes" and value.get("message_echoes") is not None:
        _coexistence(coexistence.echoes, value, received_at, events, problems)
    elif field == "history" and value.get("history") is not None:
        _coexistence(coexistence.history, value, received_at, events, problems)
    else:
        events.append(_other(entry, field, value, received_at))
        for error in _list(value, "errors"):
            events.append(_error(entry, field, value, error, received_at))


def _coexistence(parse: Any, value: dict[str, Any], received_at: datetime,
                 events: list[NewEvent], problems: list[str]) -> None:
    try:
        parse(value, received_at, events, problems)
    except Unreadable as exc:
        problems.append(str(exc))


def _list(value: dict[str, Any], name: str) -> list[Any]:
    items = value.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise Unreadable(f"{name} is not a list")
    return items


def _messages(entry: dict[str, Any], value: dict[str, Any], received_at: datetime,
              events: list[NewEvent], problems: list[str]) -> None:
    """Every message, status and error of one ``messages`` change."""
    parts: dict[str, list[Any]] = {}
    for name in _MESSAGE_PARTS:
        try:
            parts[name] = _list(value, name)
        except Unreadable as exc:
            problems.append(str(exc))
            parts[name] = []
    senders = {chat_key(m) for m in parts["messages"] if isinstance(m, dict)}
    contacts = value.get("contacts")
    for contact in contacts if isinstance(contacts, list) else []:
        link = contact_link(contact, None, _entry_time(entry, received_at))
        if link is not None:
            events.append(link)
    for message in parts["messages"]:
        try:
            events.extend(message_events(message, value, len(senders) == 1, received_at))
        except Unreadable as exc:
            problems.append(str(exc))
    for status in parts["statuses"]:
        try:
            events.extend(status_events(status, value, received_at))
        except Unreadable as exc:
            problems.append(str(exc))
    for error in parts["errors"]:
        events.append(_error(entry, "messages", value, error, received_at))


def _entry_time(entry: dict[str, Any], received_at: datetime) -> datetime:
    return epoch(entry.get("time")) or received_at


def _other(entry: dict[str, Any], field: str, value: dict[str, Any],
           received_at: datetime) -> NewEvent:
    """Template, account, preference, call, echo ... updates: recorded, not errors."""
    entry_id, entry_time = entry.get("id"), entry.get("time")
    data: dict[str, Any] = {"field": field, "value": value}
    if entry_id is not None:
        data["entry_id"] = entry_id
    key = f"wa:change:{_digest([entry_id, entry_time, field, value])}"
    return WebhookChange(**data).new(WEBHOOK_STREAM, actor=ACTOR,
                                     occurred_at=_entry_time(entry, received_at),
                                     idempotency_key=key)


def _error(entry: dict[str, Any], field: str, value: dict[str, Any], error: Any,
           received_at: datetime) -> NewEvent:
    """An error Meta reports for the account or app rather than for one message."""
    normalised = status_error([error]) if isinstance(error, dict) else None
    metadata = value.get("metadata")
    data: dict[str, Any] = {"error": normalised or {"raw": error}, "field": field,
                            "raw": error}
    if isinstance(metadata, dict) and metadata.get("phone_number_id") is not None:
        data["phone_number_id"] = metadata["phone_number_id"]
    entry_id = entry.get("id")
    key = f"wa:error:{_digest([entry_id, field, metadata, error])}"
    return WebhookError(**data).new(WEBHOOK_STREAM, actor=ACTOR,
                                    occurred_at=_entry_time(entry, received_at),
                                    idempotency_key=key)
