"""``crm verify``: a change made behind our back, in the database or in an export, is
found and named by its position."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from crm.events.hashing import hash_of
from tests.audit_helpers import BOB, crm, head_hash, jsonl, seed


def tamper(db: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell could do."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("DROP TRIGGER events_no_delete")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def write_lines(path: Path, events: list[dict]) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events),
                    encoding="utf-8")


def test_verify_passes_and_prints_count_and_head(data_dir: Path) -> None:
    last = seed(data_dir / "crm.db")
    result = crm(data_dir, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{last} events" in result.stdout
    assert head_hash(data_dir / "crm.db") in result.stdout
    assert result.stderr == ""  # no terminal: no progress bar, no warning


def test_verify_names_a_row_changed_in_the_sqlite_file(data_dir: Path) -> None:
    db = data_dir / "crm.db"
    seed(db)
    tamper(db, "UPDATE events SET data = replace(data, 'hallo', 'goodbye') WHERE position = 13")
    result = crm(data_dir, "verify")
    assert result.returncode == 1
    assert "position 13: hash does not match the content" in result.stdout
    assert "trigger events_no_update is missing" in result.stderr


def test_verify_names_an_equivalent_rewrite_of_stored_data(data_dir: Path) -> None:
    db = data_dir / "crm.db"
    seed(db)
    # Same JSON value, different bytes: still not what was recorded and hashed.
    tamper(db, "UPDATE events SET data = replace(data, '\":\"', '\": \"') WHERE position = 3")
    result = crm(data_dir, "verify")
    assert result.returncode == 1
    assert "position 3:" in result.stdout


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(data_dir: Path) -> None:
    db = data_dir / "crm.db"
    seed(db)
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT position, id, type, stream, occurred_at, recorded_at, actor, "
                       "idempotency_key, data, prev_hash FROM events WHERE position = 4"
                       ).fetchone()
    conn.close()
    event = dict(zip(("position", "id", "type", "stream", "occurred_at", "recorded_at",
                      "actor", "idempotency_key", "data", "prev_hash"), row, strict=True))
    event["data"] = json.loads(event["data"]) | {"text": "I never said that"}
    forged = hash_of(event)
    data = json.dumps(event["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    tamper(db, f"UPDATE events SET data = '{data}', hash = '{forged}' WHERE position = 4")
    result = crm(data_dir, "verify")
    assert result.returncode == 1
    assert "position 5: prev_hash is not the hash of position 4" in result.stdout


def test_verify_names_a_deleted_row(data_dir: Path) -> None:
    db = data_dir / "crm.db"
    seed(db)
    tamper(db, "DELETE FROM events WHERE position = 7")
    result = crm(data_dir, "verify")
    assert result.returncode == 1
    assert "position 7: missing" in result.stdout


def test_verify_export_finds_an_edited_line(data_dir: Path, tmp_path: Path) -> None:
    last = seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    ok = crm(data_dir, "verify", "--export", str(out), "--full")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{last} events (positions 1-{last}), the whole log" in ok.stdout

    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[7] = lines[7].replace("thanks, on it", "thanks, never")  # position 8
    assert "never" in lines[7]
    out.write_text("".join(lines), encoding="utf-8")
    bad = crm(data_dir, "verify", "--export", str(out))
    assert bad.returncode == 1
    assert "position 8 (line 8): hash does not match the content" in bad.stdout


def test_an_edited_line_with_a_recomputed_hash_breaks_the_next_link(
        data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    events = jsonl(out)
    events[1]["data"]["text"] = "=1+1 (forged)"
    events[1]["hash"] = hash_of(events[1])
    write_lines(out, events)
    bad = crm(data_dir, "verify", "--export", str(out))
    assert bad.returncode == 1
    assert "position 3 (line 3): prev_hash is not the hash of position 2" in bad.stdout


def test_a_line_removed_from_a_full_export_is_missing(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    events = jsonl(out)
    write_lines(out, events[:4] + events[5:])
    result = crm(data_dir, "verify", "--export", str(out), "--full")
    assert result.returncode == 1
    assert "position 5 (line 5): missing" in result.stdout


def test_a_filtered_export_verifies_event_by_event(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "bob.jsonl"
    assert crm(data_dir, "export", "--phone", BOB, "--output", str(out)).returncode == 0
    events = jsonl(out)
    positions = [e["position"] for e in events]
    assert positions == [13, 14, 15, 18]
    gaps, neighbours = 2, 2  # before 13 and before 18; 13-14 and 14-15

    ok = crm(data_dir, "verify", "--export", str(out))
    assert ok.returncode == 0, ok.stdout
    assert f"a filtered export with {gaps} gap(s)" in ok.stdout
    assert f"{neighbours} link(s)" in ok.stdout
    assert crm(data_dir, "verify", "--export", str(out), "--full").returncode == 1

    # An event after a gap is still checked on its own.
    lonely = next(e for e, p in zip(events[1:], positions, strict=False)
                  if e["position"] != p + 1)
    lonely["occurred_at"] = "2020-01-01T00:00:00Z"
    write_lines(out, events)
    bad = crm(data_dir, "verify", "--export", str(out))
    assert bad.returncode == 1
    assert f"position {lonely['position']}" in bad.stdout


def test_verify_export_refuses_extra_fields_and_non_json(data_dir: Path,
                                                         tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    events = jsonl(out)
    events[2]["note"] = "added later"
    write_lines(out, events)
    result = crm(data_dir, "verify", "--export", str(out))
    assert result.returncode == 1 and "position 3 (line 3): unexpected field note" in result.stdout
    out.write_text(out.read_text().replace('"note"', "note", 1))
    result = crm(data_dir, "verify", "--export", str(out))
    assert result.returncode == 1 and "line 3): not a line of JSON" in result.stdout


#: What the README's audit section tells an auditor: their own code, not ours.
AUDITOR = '''
import hashlib, json, sys
prev_position, prev_hash = 0, "0" * 64
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), start=1):
    e = json.loads(line)
    array = [e["prev_hash"], e["position"], e["id"], e["type"], e["stream"],
             e["occurred_at"], e["recorded_at"], e["actor"], e["idempotency_key"], e["data"]]
    body = json.dumps(array, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != e["hash"]:
        sys.exit(f"line {number}, position {e['position']}: hash does not match")
    if e["position"] == prev_position + 1 and e["prev_hash"] != prev_hash:
        sys.exit(f"line {number}, position {e['position']}: broken link")
    prev_position, prev_hash = e["position"], e["hash"]
print("ok, last hash", prev_hash)
'''


def test_an_auditor_can_check_an_export_with_their_own_code(data_dir: Path,
                                                           tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    audit = [sys.executable, "-I", "-c", AUDITOR, str(out)]  # -I: nothing of ours importable
    ok = subprocess.run(audit, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"ok, last hash {head_hash(data_dir / 'crm.db')}"
    events = jsonl(out)
    events[16]["data"]["f"] = 1.25  # the event with floats, big ints and a line break
    write_lines(out, events)
    bad = subprocess.run(audit, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "position 17: hash does not match" in bad.stderr
