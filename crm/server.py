"""Running the app under hypercorn, started from code.

Started programmatically (``hypercorn.asyncio.serve`` with our own shutdown trigger)
because hypercorn's own signal handling waits forever for open event streams on newer
Pythons (hypercorn #308): on SIGTERM we first tell long-lived responses to end, then
let hypercorn close. Several workers are several processes sharing one listening
socket; each runs its own writer thread, and SQLite serialises their commits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import sys
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config, Sockets

from crm.api.app import create_app
from crm.auth.local import ensure_first_admin
from crm.auth.secret import secret_key
from crm.config import Settings
from crm.prepare import prepare_database
from crm.sandbox import launcher as sandbox

log = logging.getLogger("crm.server")


def hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = 2.0
    config.accesslog = None
    config.errorlog = "-"
    return config


def tune_gc() -> None:
    """Fewer and shorter full garbage collections, for the event loop's latency.

    With a thousand event streams open, a full (generation 2) collection stops the loop
    for 30-120 ms, and that was most of the streams' p99 delivery time (bench/stream.py,
    measured with ``gc.callbacks``). Objects alive at start (modules, the app) are moved
    out of every collection, and a full collection runs 10 times less often; young
    cycles are still collected as usual.
    """
    gc.freeze()
    gc.set_threshold(700, 10, 100)


async def _serve(settings: Settings, config: Config, sockets: Sockets | None) -> None:
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.utils import wrap_app

    app = create_app(settings)
    tune_gc()
    signalled = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        loop.add_signal_handler(getattr(signal, name), signalled.set)

    async def shutdown_trigger() -> None:
        await signalled.wait()
        crm = app.extensions.get("crm")
        if crm is not None:
            crm.stopping.set()  # streams end themselves before hypercorn waits on them

    if sockets is None:
        await hypercorn_serve(app, config, shutdown_trigger=shutdown_trigger)
    else:
        wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
        await worker_serve(wrapped, config, sockets=sockets, shutdown_trigger=shutdown_trigger)


def _worker(settings: Settings, config: Config, sockets: Sockets) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    asyncio.run(_serve(settings, config, sockets))


def serve(settings: Settings, host: str, port: int, workers: int = 1,
          announce: Any = None) -> None:
    prepare_database(settings)
    secret_key(settings)  # generated once here, before any worker needs it
    ensure_first_admin(settings)
    settings = sandbox.start(settings, host, port)  # no access token: the local sandbox
    config = hypercorn_config(host, port)
    url = f"http://{host}:{port}/"
    if announce:
        announce(url)
    if workers <= 1:
        asyncio.run(_serve(settings, config, None))
        return
    sockets = config.create_sockets()
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(settings, config, sockets), daemon=False)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()

    forwarded: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        for process in processes:
            if process.is_alive() and process.pid is not None:
                import os

                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
    for group in (sockets.secure_sockets, sockets.insecure_sockets):
        for sock in group:
            sock.close()
    # A worker still starting up when told to stop dies of the SIGTERM itself, before
    # its handler exists: that is the stop we asked for, not a failure.
    stopped = -signal.SIGTERM if forwarded else None
    if any(p.exitcode and p.exitcode != stopped for p in processes):
        sys.exit(1)
