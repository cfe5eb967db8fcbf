"""Everything crm writes is private to its user: a real ``crm serve`` (with its
sandbox), a customer's image fetched and kept, a backup and exports; then every folder
is 0700 and every file 0600, whatever the umask crm was started with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import start_server, wait_until
from tests.media_support import PNG


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A deployer's usual umask (022): without crm's own, files would be 644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def crm(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "crm.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_crm_writes_is_private(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # made by hand, readable by everyone: crm tightens it
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = start_server(data, stderr=stderr, CRM_SANDBOX="auto", CRM_ADMIN_PASSWORD="")
    try:
        image = tmp_path / "kayak.png"
        image.write_bytes(PNG)
        crm(server.env, tmp_path, "simulate", "--from", "85291234567", "--name", "Ana",
            "--image", str(image), "--caption", "this one?")
        media = data / "media"
        kept = wait_until(lambda: [p for p in media.rglob("*") if p.is_file()
                                   and len(p.name) == 64], timeout=20,
                          message="the customer's image kept under media/")
        out = tmp_path / "out"
        out.mkdir()
        crm(server.env, tmp_path, "backup", str(out / "backup.db"))
        crm(server.env, tmp_path, "export", "--output", str(out / "log.jsonl"))
        crm(server.env, tmp_path, "export", "--format", "csv", "--output",
            str(out / "messages.csv"))

        assert "tightened to 700" in log.read_text()
        for name in ("crm.db", "crm.db-wal", "crm.db-shm", "sandbox.json", "server.json",
                     "secret_key", "first_admin_password"):
            assert (data / name).exists(), name
        assert kept and kept[0].with_suffix(".json").exists()
        loose = {str(p.relative_to(tmp_path)): oct(mode(p))
                 for p in [data, *data.rglob("*")]
                 if mode(p) != (0o700 if p.is_dir() else 0o600)}
        assert loose == {}
        assert {p.name: oct(mode(p)) for p in out.iterdir()} == {
            "backup.db": "0o600", "log.jsonl": "0o600", "messages.csv": "0o600"}
    finally:
        server.stop()
