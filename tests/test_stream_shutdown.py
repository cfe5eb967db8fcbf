"""SIGTERM with open streams: each ends cleanly and the server exits (hypercorn #308)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import admin_headers, start_server, wait_until
from tests.sse_client import StreamClient, worker_of

STREAMS = 50


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_ends_every_stream_cleanly_and_exits(data_dir: Path, workers: int) -> None:
    server = start_server(data_dir, "--workers", str(workers))
    clients: list[StreamClient] = []
    try:
        headers = admin_headers(server)
        clients = [StreamClient(server.port, headers) for _ in range(STREAMS)]
        for client in clients:
            assert client.wait_response() == 200
            assert client.next_item().retry is not None  # the body has begun
        # With two workers, both must hold streams (each must end its own cleanly).
        while len({worker_of(server, c) for c in clients}) < workers:
            assert len(clients) < STREAMS + 30, "the kernel gave every stream to one worker"
            clients.append(StreamClient(server.port, headers))
            assert clients[-1].wait_response() == 200
            assert clients[-1].next_item().retry is not None
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=10)
        exited = time.monotonic() - sent
        assert exited < 3.0, f"exited {exited:.2f}s after SIGTERM"
        assert server.process.returncode == 0
        wait_until(lambda: all(c.done.is_set() for c in clients), 2)
        unclean = [c.error for c in clients if not c.clean_end]
        assert not unclean, f"{len(unclean)} streams were cut: {unclean[:3]}"
    finally:
        for client in clients:
            client.close()
        server.stop()
