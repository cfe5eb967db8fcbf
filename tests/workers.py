"""Which worker process of ``crm serve --workers N`` holds a connection, read from /proc.

Hypercorn's workers share one listening socket, and a worker accepts nothing until it
has started: right after the first /healthz answers, every connection may go to the
one worker that is up. ``wait_for_workers`` waits until each of them has answered.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection from ``client_port``."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def holder(server_pid: int, server_port: int, client_port: int) -> int:
    """The pid of the process (the server or one of its workers) holding the connection."""
    inode = server_socket_inode(server_port, client_port)
    assert inode, "the connection is not in /proc/net/tcp"
    for pid in [server_pid, *children(server_pid)]:  # 1 worker: itself
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except (FileNotFoundError, PermissionError):
            continue
        if f"socket:[{inode}]" in links:
            return pid
    raise AssertionError("no worker holds the connection")


def wait_for_workers(server_pid: int, port: int, workers: int, timeout: float = 20.0) -> None:
    """Until ``workers`` distinct processes have each answered a request.

    Connections are kept open while it asks, so a worker busy with one cannot take the
    next, and each answer shows that its holder accepts and serves.
    """
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    held: list[socket.socket] = []
    try:
        while len(seen) < workers:
            assert time.monotonic() < deadline, f"only {len(seen)} of {workers} workers answered"
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(sock)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                continue
            seen.add(holder(server_pid, port, sock.getsockname()[1]))
            if len(held) > 50:  # no more than a few dozen at a time
                for old in held:
                    old.close()
                held.clear()
    finally:
        for sock in held:
            sock.close()
