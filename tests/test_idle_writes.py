"""An idle server writes nothing: on a small VM's shared disk every fsync counts.

Leases used to be renewed every two seconds by the sender and the media worker (one
commit, one fsync each); an idle holder now holds a long lease it renews every few
minutes, and gives it up when it stops.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from crm.jobs.lease import IDLE_TTL, RENEW_EVERY
from tests.conftest import start_server, wait_until

#: Longer than three renewal periods of a busy holder.
WINDOW = 3.5 * RENEW_EVERY


def _files(data_dir: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(data_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(data_dir.rglob("*")) if p.is_file()}


def _resting_leases(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT expires FROM sender_lease").fetchall()
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
    return sum(1 for (expires,) in rows if expires > time.time() + IDLE_TTL / 2)


def test_an_idle_server_writes_nothing(data_dir: Path) -> None:
    server = start_server(data_dir, "--workers", "2", CRM_SANDBOX="auto")
    try:
        # The sender's, the media worker's, the automation worker's and the campaign
        # worker's leases, all held and resting.
        wait_until(lambda: _resting_leases(server.db_path) == 4, timeout=20,
                   message="the four leases to rest")
        before = _files(data_dir)
        deadline = time.monotonic() + WINDOW
        while time.monotonic() < deadline:  # watching for writes over a window of time
            assert _files(data_dir) == before, "an idle server wrote to its data folder"
            time.sleep(0.25)
    finally:
        server.stop()
