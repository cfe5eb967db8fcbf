"""``crm import``: an export restored into an empty data folder is the same log, and
after replay the same projections."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from crm.events import EventStore
from crm.events.errors import ChainBrokenError
from crm.projections import default_projector
from crm.projections.replay import check
from tests.audit_helpers import ALICE, crm, events_rows, head_hash, jsonl, seed
from tests.test_audit_verify import write_lines


def table_rows(db: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in (*default_projector().tables, "checkpoints")}
    finally:
        conn.close()


def test_export_import_replay_gives_the_same_log_and_projections(
        data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "crm.db"
    last = seed(db)
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    restored = tmp_path / "restored"
    result = crm(restored, "import", str(out))
    assert result.returncode == 0, result.stderr
    assert f"imported {last} events (head hash {head_hash(db)})" in result.stdout
    new_db = restored / "crm.db"
    # The same rows, byte for byte: positions, ids, times, data text, hashes.
    assert events_rows(new_db) == events_rows(db)
    assert head_hash(new_db) == head_hash(db)
    # The projections built live, event by event, equal those rebuilt by replay.
    original, rebuilt = table_rows(db), table_rows(new_db)
    assert original["messages"] and original["chats"]
    assert rebuilt == original
    assert check(new_db, default_projector()).identical
    verified = crm(restored, "verify")
    assert verified.returncode == 0 and head_hash(db) in verified.stdout
    assert sorted(p.name for p in restored.iterdir() if not p.name.startswith("crm.db")) == []


def test_import_refuses_a_folder_that_has_a_log(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    before = events_rows(data_dir / "crm.db")
    result = crm(data_dir, "import", str(out))
    assert result.returncode == 1
    assert "not empty" in result.stderr
    assert events_rows(data_dir / "crm.db") == before


@pytest.mark.parametrize("damage", ["edited", "filtered"])
def test_import_refuses_an_export_that_does_not_verify(data_dir: Path, tmp_path: Path,
                                                       damage: str) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    args = ("--phone", ALICE) if damage == "filtered" else ()
    assert crm(data_dir, "export", "--output", str(out), *args).returncode == 0
    events = jsonl(out)
    if damage == "edited":
        events[9]["data"]["status"] = "read"  # position 10 was "delivered"
    write_lines(out, events)
    restored = tmp_path / "restored"
    result = crm(restored, "import", str(out))
    assert result.returncode == 1
    expected = ("position 10 (line 10): hash does not match" if damage == "edited"
                else "position 16 (line 13): expected position 13")
    assert expected in result.stderr
    assert not restored.exists() or list(restored.iterdir()) == []  # nothing left behind


def test_import_events_keeps_nothing_of_a_batch_with_a_bad_event(tmp_path: Path) -> None:
    seed(tmp_path / "source.db")
    source = EventStore(tmp_path / "source.db")
    events = source.read_after(0, 100)
    source.close()
    store = EventStore(tmp_path / "copy.db")
    try:
        assert store.import_events(events[:3]) == 3
        bad = [*events[3:6], dataclasses.replace(events[6], actor="someone else")]
        with pytest.raises(ChainBrokenError) as caught:
            store.import_events(bad)
        assert caught.value.position == 7
        with pytest.raises(ChainBrokenError):
            store.import_events(events[4:6])  # position 4 is not there: a gap
        assert store.last_position() == 3
        assert store.import_events(events[3:]) == len(events) - 3
        assert store.read_after(0, 100) == events
    finally:
        store.close()
