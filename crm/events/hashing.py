"""The canonical form of an event and the hash chain over it.

Documented in the README's audit section ("The canonical form"): keep the two in step.
Anyone can recompute a hash from an exported JSONL line with a few lines of code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 (not \\u-escaped): the bytes we hash and store."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    *,
    prev_hash: str,
    position: int,
    id: str,
    type: str,
    stream: str,
    occurred_at: str,
    recorded_at: str,
    actor: str,
    idempotency_key: str | None,
    data: Any,
) -> str:
    """SHA-256 (hex) of the canonical JSON array of the event's fields, in this order."""
    return hash_with_data_text(
        prev_hash=prev_hash, position=position, id=id, type=type, stream=stream,
        occurred_at=occurred_at, recorded_at=recorded_at, actor=actor,
        idempotency_key=idempotency_key, data_text=canonical_json(data),
    )


def hash_with_data_text(
    *,
    prev_hash: str,
    position: int,
    id: str,
    type: str,
    stream: str,
    occurred_at: str,
    recorded_at: str,
    actor: str,
    idempotency_key: str | None,
    data_text: str,
) -> str:
    """``event_hash`` when ``data`` is already in canonical JSON (the stored column):
    the compact array is its head, a comma, the data, and the closing bracket."""
    head = canonical_json(
        [prev_hash, position, id, type, stream, occurred_at, recorded_at, actor,
         idempotency_key]
    )
    body = f"{head[:-1]},{data_text}]"
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def hash_of(event: dict[str, Any]) -> str:
    """The hash an event dict (the API/export shape) should carry."""
    return event_hash(
        prev_hash=event["prev_hash"],
        position=event["position"],
        id=event["id"],
        type=event["type"],
        stream=event["stream"],
        occurred_at=event["occurred_at"],
        recorded_at=event["recorded_at"],
        actor=event["actor"],
        idempotency_key=event["idempotency_key"],
        data=event["data"],
    )
