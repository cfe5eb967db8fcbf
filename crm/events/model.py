"""Events as plain data.

Two layers, deliberately:

* ``NewEvent`` / ``RecordedEvent`` are the envelope every event shares (type, stream,
  actor, times, idempotency key, and once recorded its position and hashes). They are
  slotted dataclasses because replay reads a million of them and validation there
  would only cost time: what is in the log was validated on the way in.
* ``Event`` subclasses are small pydantic models with a dotted ``type`` name; they
  validate the ``data`` of an event when it is created. A type this version does not
  know (written by a newer version) is still read, kept and exported as a plain dict.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[Event]] = {}
#: Per event class, a twin that accepts undeclared fields, for reading.
_READERS: dict[type[Event], type[Event]] = {}


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC ending in ``Z``; fractions only when there are any."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def epoch_seconds(text: str) -> float:
    """Seconds since the epoch of an ISO time; cached, as replay meets each one often."""
    return parse_time(text).timestamp()


class Event(BaseModel):
    """Base of typed event payloads. Subclasses set ``type`` to a dotted name.

    Every field an event carries is declared: writing an undeclared one is an error, so
    the models are the schema of the log. Reading (``RecordedEvent.model``) is lenient:
    an event written by a newer version may carry fields this one does not know.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type"):
            _REGISTRY[cls.__dict__["type"]] = cls

    @classmethod
    def read(cls, data: dict[str, Any]) -> Event:
        """Validate recorded data, keeping fields a newer version added."""
        twin = _READERS.get(cls)
        if twin is None:
            twin = type(cls.__name__, (cls,), {
                "model_config": ConfigDict(extra="allow", frozen=True),
                "__module__": cls.__module__, "__qualname__": cls.__qualname__})
            _READERS[cls] = twin
        return twin.model_validate(data)

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def new(
        self,
        stream: str,
        *,
        actor: str = "system",
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> NewEvent:
        return NewEvent(
            type=self.type,
            stream=stream,
            data=self.data(),
            actor=actor,
            occurred_at=occurred_at,
            idempotency_key=idempotency_key,
        )


def event_class(type_name: str) -> type[Event] | None:
    """The model for a dotted type name, or None for a type this version does not know."""
    return _REGISTRY.get(type_name)


def event_type(type_name: str) -> bool:
    return type_name in _REGISTRY


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event not yet in the log."""

    type: str
    stream: str
    data: dict[str, Any]
    actor: str = "system"
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the log holds it. ``data`` is the decoded JSON."""

    position: int
    id: str
    type: str
    stream: str
    occurred_at: str
    recorded_at: str
    actor: str
    idempotency_key: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The shape of ``GET /api/events``, the stream and the JSONL export."""
        return {
            "position": self.position,
            "id": self.id,
            "type": self.type,
            "stream": self.stream,
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "idempotency_key": self.idempotency_key,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def model(self) -> Event | None:
        """The typed payload, or None when this version does not know the type."""
        cls = event_class(self.type)
        return cls.read(self.data) if cls else None
