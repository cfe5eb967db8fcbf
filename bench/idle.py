"""What an idle server writes: nothing for minutes, on a small VM's shared disk.

``crm serve --workers 2`` with the sandbox and no traffic at all: after a warm-up, for one
minute, the bytes the server's processes write (``/proc/<pid>/io`` ``write_bytes``, the
sandbox's included) and the commits another connection sees (``PRAGMA data_version``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.processes import free_port, stop, wait_ready
from bench.stats import table

WARM_UP = 10.0
MINUTE = 60.0


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _written(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CRM_", "WHATSAPP_", "GOOGLE_"))}
        env.update(CRM_DATA_DIR=str(data_dir), CRM_LOG_LEVEL="warning",
                   CRM_ADMIN_PASSWORD="bench-admin-password", CRM_SANDBOX="auto")
        server = subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "2"], cwd=tmp, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", server)
            time.sleep(WARM_UP)  # a benchmark's warm-up, not a synchronisation
            pids = _tree(server.pid)
            conn = sqlite3.connect(f"file:{data_dir / 'crm.db'}?mode=ro", uri=True)
            before, version, commits = _written(pids), None, 0
            end = time.monotonic() + MINUTE
            while time.monotonic() < end:
                seen = conn.execute("PRAGMA data_version").fetchone()[0]
                commits += version is not None and seen != version
                version = seen
                time.sleep(0.2)
            written = _written(pids) - before
            conn.close()
        finally:
            stop(server)
    rows = [["bytes written by the server's processes", f"{written:,}"],
            ["commits seen by another connection (polled every 0.2 s)", f"{commits}"]]
    return ("## Idle server (`python -m bench idle`)\n\n"
            "`crm serve --workers 2` with the sandbox and no traffic, one minute after a "
            f"{WARM_UP:.0f} s warm-up.\n\n" + table(["per idle minute", "figure"], rows)
            + "\n\nTarget: nothing written for minutes: "
            + ("met." if written == 0 and commits == 0 else "NOT met."))
