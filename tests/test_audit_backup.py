"""``crm backup``: a consistent copy taken while another process keeps appending."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from crm.audit.verify import verify_database
from crm.events.store import open_connection
from crm.projections import default_projector
from crm.projections.replay import check
from tests.audit_helpers import crm, events_rows, open_store, seed
from tests.conftest import ROOT, wait_until


def test_backup_while_a_writer_appends_opens_verifies_and_replays(
        data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "crm.db"
    open_store(db).close()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.appender", str(db), "w", "1000000", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        acknowledged = [0]

        def written_at_least(n: int) -> bool:
            line = writer.stdout.readline()
            assert line, f"the writer stopped (exit {writer.poll()})"
            acknowledged[0] = int(line.split()[-1])
            return acknowledged[0] >= n

        wait_until(lambda: written_at_least(300), timeout=30, message="the writer to append")
        copy = tmp_path / "backup.db"
        result = crm(data_dir, "backup", str(copy))
        assert result.returncode == 0, result.stderr
        during = acknowledged[0]
        # The writer was not held up: it goes on appending after the copy.
        wait_until(lambda: written_at_least(during + 500), timeout=30,
                   message="the writer to go on appending")
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()

    conn = open_connection(copy, readonly=True)
    try:
        verification = verify_database(conn)
    finally:
        conn.close()
    assert verification.ok, verification.problem
    copied = verification.count
    assert copied >= 300 and copied % 5 == 0  # whole batches only: one commit's state
    assert f"backed up {copied} events (head hash {verification.head_hash})" in result.stdout
    # A prefix of the live log, row for row.
    assert events_rows(copy) == events_rows(db)[:copied]
    assert len(events_rows(db)) > copied
    assert check(copy, default_projector()).identical
    assert crm(data_dir, "verify", "--db", str(copy)).returncode == 0
    assert not list(tmp_path.glob(".*partial"))


def test_backup_does_not_overwrite_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    copy = tmp_path / "backup.db"
    copy.write_text("an older backup")
    refused = crm(data_dir, "backup", str(copy))
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert copy.read_text() == "an older backup"
    assert crm(data_dir, "backup", str(copy), "--force").returncode == 0
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 18
    conn.close()
