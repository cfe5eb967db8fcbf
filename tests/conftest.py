"""Shared fixtures: a real SQLite file, and a real crm server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.workers import wait_for_workers

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: The first admin's password in test servers (``crm serve`` creates ``admin`` with it).
ADMIN_PASSWORD = "admin-password-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Poll a condition until it holds or the deadline passes (no bare sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    env: dict[str, str]

    @property
    def db_path(self) -> Path:
        return self.data_dir / "crm.db"

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def stop(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def crm_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "WHATSAPP_",
                                                                     "GOOGLE_"))}
    env.update({"CRM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
                # No local Graph sandbox unless a test asks for one (CRM_SANDBOX=auto).
                "CRM_SANDBOX": "off"})
    env.update(extra)
    return env


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 20.0, stderr: Any = None, port: int | None = None,
                 **extra_env: str) -> LiveServer:
    """Start ``crm serve`` as its own process and wait until /healthz answers.
    ``stderr``: where the server's messages go (a file to read them back), else ours.
    ``port``: a given port (to restart a server where its clients expect it)."""
    port = port or free_port()
    env = env or crm_env(data_dir, **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "crm.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         *args],
        cwd=str(data_dir.parent), env=env, stderr=stderr,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", port, data_dir, process, env)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"crm serve exited with {process.returncode}")
        try:
            return httpx.get(server.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout, message="crm serve to answer /healthz")
        if "--workers" in args:
            wait_for_workers(process.pid, port, int(args[list(args).index("--workers") + 1]))
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def server(data_dir: Path) -> Iterator[LiveServer]:
    live = start_server(data_dir)
    yield live
    live.stop()


_ADMIN_TOKENS: dict[tuple[str, str], str] = {}


def admin_headers(server: LiveServer) -> dict[str, str]:
    """Request headers of a signed-in admin, for tests of protected routes.

    An API token of ``admin`` (whom ``crm serve`` creates on first start), made once
    per server by the same code as ``crm tokens create admin`` and kept for reuse.
    """
    key = (server.url, str(server.data_dir))
    token = _ADMIN_TOKENS.get(key)
    if token is None:
        from crm.auth.local import create_token
        from crm.config import Settings

        token, _ = create_token(Settings(data_dir=server.data_dir), "admin", "tests")
        _ADMIN_TOKENS[key] = token
    return {"Authorization": f"Bearer {token}"}


#: Fixtures of pytest-playwright (sync API). After its first test it leaves an asyncio
#: loop marked running on the main thread, which breaks every pytest-asyncio test run
#: after it (microsoft/playwright-pytest#167): so browser tests always run last.
_BROWSER_FIXTURES = frozenset({"page", "context", "browser", "browser_type", "playwright"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: bool(_BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))))
