"""A separate process that appends to the log: for concurrency and crash tests.

usage: python -m tests.appender DB TAG BATCHES BATCH_SIZE
Prints each batch's positions (space separated) after its append returned.
"""

from __future__ import annotations

import sys

from crm.events import EventStore, NewEvent
from crm.projections import default_projector
from tests.factories import received


def main(db: str, tag: str, batches: int, size: int) -> None:
    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    for b in range(batches):
        events: list[NewEvent] = [
            received(phone=f"{tag}{i % 7}", text=f"{tag}-{b}-{i}", wamid=f"{tag}.{b}.{i}")
            for i in range(size)
        ]
        positions = store.record(events)
        print(" ".join(map(str, positions)), flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
