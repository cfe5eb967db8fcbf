"""Another process appending to the log, for the store contract's concurrency test.

usage: python -m tests.store_appender BACKEND ADDRESS TAG BATCHES

Opens the log and prints ``ready``; then, for each of BATCHES rounds, waits for a line
on stdin and appends one batch ``[own, shared]``: ``own`` keyed ``TAG-i`` (no other
process uses it), ``shared`` keyed ``shared-i``, which every appender appends in the
same round. The test releases all appenders' rounds together, so every shared key
is a race. For each batch it prints ``own_position,own_new,shared_position,shared_new``
once its append returned.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from crm.events import EventStore, NewEvent, Recorder

#: How each backend opens a log from an address given on the command line.
OPENERS: dict[str, Callable[[str], Recorder]] = {"sqlite": EventStore}


def main(backend: str, address: str, tag: str, batches: int) -> None:
    store = OPENERS[backend](address)
    print("ready", flush=True)
    for i in range(batches):
        if not sys.stdin.readline():
            raise SystemExit(f"stdin closed before round {i}")
        result = store.record([
            NewEvent(type="note.added", stream=f"notes:{tag}", data={"tag": tag, "i": i},
                     idempotency_key=f"{tag}-{i}"),
            NewEvent(type="note.added", stream="notes:shared", data={"tag": tag, "i": i},
                     idempotency_key=f"shared-{i}"),
        ])
        (own, shared), (own_new, shared_new) = result, result.new
        print(f"{own},{int(own_new)},{shared},{int(shared_new)}", flush=True)
    close = getattr(store, "close", None)
    if close is not None:
        close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
