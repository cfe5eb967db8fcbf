"""Where a running ``crm serve`` listens, for the commands that talk to it.

``crm serve`` writes ``CRM_DATA_DIR/server.json`` (its URL and process id, mode 600)
as it starts and removes it on exit, so ``crm simulate`` finds a server started with
``CRM_PORT=18200 make run`` without being told the port again.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from pathlib import Path

from crm.private import ensure_private_dir

SERVER_FILE = "server.json"


def connect_host(host: str) -> str:
    """A listening address as a client dials it (any-address means this machine)."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def record(data_dir: Path, host: str, port: int) -> None:
    """Write the server's URL for this process, and remove it when the process exits."""
    path = data_dir / SERVER_FILE
    ensure_private_dir(data_dir)
    scratch = path.with_name(f".{SERVER_FILE}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": f"http://{connect_host(host)}:{port}", "pid": os.getpid()}, handle)
    os.replace(scratch, path)
    atexit.register(_forget, path, os.getpid())


def _forget(path: Path, pid: int) -> None:
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()


def alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def server_url(data_dir: Path) -> str | None:
    """The URL of the ``crm serve`` running on this data folder, if one is."""
    try:
        state = json.loads((data_dir / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state.get("url") if alive(state.get("pid")) else None
