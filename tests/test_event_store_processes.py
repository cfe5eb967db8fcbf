"""Several processes at once, and a process killed mid-append."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from crm.events import EventStore
from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import ROOT, wait_until
from tests.test_event_store import open_store, verify_chain


def appender(db: Path, tag: str, batches: int, size: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.appender", str(db), tag, str(batches), str(size)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )


def test_two_processes_append_concurrently(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    open_store(db).close()
    procs = [appender(db, tag, 150, 5) for tag in ("a", "b")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    store = EventStore(db)
    events = store.read_after(0, 10_000)
    assert len(events) == 2 * 150 * 5
    assert len({e.idempotency_key for e in events}) == len(events)
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    # Each batch got consecutive positions: no batch was split or interleaved.
    for output in outputs:
        for line in output.split("\n"):
            if line:
                positions = list(map(int, line.split()))
                assert positions == list(range(positions[0], positions[0] + 5))
    by_position = {e.position: e for e in events}
    for output in outputs:
        for line in output.split("\n"):
            if line:
                tags = {by_position[int(p)].data["text"].rsplit("-", 1)[0] for p in line.split()}
                assert len(tags) == 1
    assert verify_chain(store.conn) == len(events)
    assert check(db, default_projector()).identical


def test_sigkill_loses_no_acknowledged_append(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    open_store(db).close()
    proc = appender(db, "k", 100_000, 3)
    acknowledged: list[int] = []

    def enough() -> bool:
        line = proc.stdout.readline()
        if line.strip():
            acknowledged.extend(map(int, line.split()))
        return len(acknowledged) >= 300

    wait_until(enough, timeout=60, message="the appender to acknowledge 100 batches")
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait(timeout=10)
    for line in rest.split("\n"):
        if line.strip():
            acknowledged.extend(map(int, line.split()))
    store = open_store(db)
    present = {e.position for e in store.read_after(0, 1_000_000)}
    assert set(acknowledged) <= present
    assert verify_chain(store.conn) == len(present)
    store.close()
    assert check(db, default_projector()).identical
