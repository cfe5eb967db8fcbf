"""``crm serve``."""

from __future__ import annotations

import argparse
import sys

from crm.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the inbox server")
    parser.add_argument("--host", help="address to listen on (default CRM_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default CRM_PORT or 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (default CRM_WORKERS or 1)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crm.cli import running
    from crm.server import serve

    settings = load_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers

    def announce(url: str) -> None:
        running.record(settings.data_dir, host, port)
        print(f"crm: serving the inbox at {url} (data in {settings.data_dir})",
              file=sys.stderr, flush=True)

    serve(settings, host, port, workers, announce=announce)
    return 0
