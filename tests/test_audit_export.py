"""``crm export`` and ``GET /api/export``: every event in order, filters, and a CSV
that a spreadsheet cannot be tricked by."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import httpx

from crm.audit.export import begin, fetch_page, header
from crm.audit.filters import make_filters
from crm.events.store import iter_after, open_connection
from tests.audit_helpers import ALICE, BOB, RISKY_TEXTS, crm, jsonl, seed
from tests.auth_support import create_agent, create_token
from tests.conftest import admin_headers, crm_env, start_server


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # so spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_jsonl_is_every_event_as_the_api_shows_it(data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "crm.db"
    last = seed(db)
    out = tmp_path / "all.jsonl"
    result = crm(data_dir, "export", "--output", str(out))
    assert result.returncode == 0, result.stderr
    conn = open_connection(db, readonly=True)
    events = list(iter_after(conn, 0))
    conn.close()
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == last + 1
    for line, event in zip(lines, events, strict=False):
        expected = json.dumps(event.as_json(), separators=(",", ":"), ensure_ascii=False)
        for char, escaped in (("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
            expected = expected.replace(char, escaped)
        assert line.decode("utf-8") == expected
        assert json.loads(line) == event.as_json()
    assert "\\u2028" in lines[16].decode()  # the custom event's line break, escaped


def test_export_to_stdout_is_the_file_and_nothing_else(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "all.jsonl"
    assert crm(data_dir, "export", "--output", str(out)).returncode == 0
    piped = crm(data_dir, "export")
    assert piped.returncode == 0
    assert piped.stdout == out.read_text(encoding="utf-8")
    assert piped.stderr == ""  # not a terminal: no progress bar


def test_filters_select_by_phone_type_and_period(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    out = tmp_path / "x.jsonl"

    def export(*args: str) -> list[dict]:
        result = crm(data_dir, "export", "--output", str(out), *args)
        assert result.returncode == 0, result.stderr
        return jsonl(out)

    bob = export("--phone", BOB)
    assert [e["position"] for e in bob] == [13, 14, 15, 18]
    received = export("--type", "message.received", "--phone", ALICE)
    assert {e["type"] for e in received} == {"message.received"}
    assert {e["data"]["phone"] for e in received} == {ALICE} and len(received) == 8
    # occurred_at: day 0 (Alice), day 1 (Bob's hallo), day 2 (custom), day 3 (Bob's later).
    day1 = export("--since", "2026-11-25", "--until", "2026-11-25", "--type", "message.received")
    assert [e["data"].get("text") for e in day1] == ["hallo"]
    later = export("--since", "2026-11-25T09:00:00.000001Z", "--type", "message.received")
    assert [e["data"]["text"] for e in later] == ["later"]
    bad = crm(data_dir, "export", "--since", "last tuesday")
    assert bad.returncode == 2 and "since" in bad.stderr


def test_pages_join_up_whatever_their_size(data_dir: Path) -> None:
    """Constant memory means many small pages: they must add up to one export."""
    seed(data_dir / "crm.db")
    conn = open_connection(data_dir / "crm.db", readonly=True)
    try:
        for fmt, filters in (("jsonl", make_filters()), ("csv", make_filters()),
                             ("jsonl", make_filters(since="2026-11-24T09:02:00Z")),
                             ("csv", make_filters(phone=ALICE, until="2026-11-24"))):
            spec = begin(conn, fmt, filters)
            whole = fetch_page(conn, spec, 0, page=1000)
            assert whole.done
            pieces, after = [], 0
            while True:
                page = fetch_page(conn, spec, after, page=2)
                pieces.append(page.text)
                if page.done:
                    break
                after = page.last
            assert "".join(pieces) == whole.text and whole.text
    finally:
        conn.close()


def test_csv_has_one_row_per_message_with_its_fate(data_dir: Path) -> None:
    seed(data_dir / "crm.db")
    result = crm(data_dir, "export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = csv_rows(result.stdout)
    assert list(rows[0]) == ["time", "chat", "name", "direction", "type", "text", "media",
                             "status", "agent", "phone", "user_id"]
    # 7 inbound from Alice (the reaction is not a message), 2 from Bob, 2 outbound.
    assert len(rows) == 11
    first = rows[0]
    assert first == {"time": "2026-11-24T09:00:00Z", "chat": ALICE, "name": "Zoë Ünal",
                     "direction": "in", "type": "text", "text": "hello 😀", "media": "",
                     "status": "received", "agent": "", "phone": ALICE, "user_id": ""}
    image = next(r for r in rows if r["type"] == "image")
    assert image["text"] == "the invoice" and image["media"] == "MEDIA1"
    out1 = next(r for r in rows if r["text"] == "thanks, on it")
    assert (out1["direction"], out1["status"], out1["agent"]) == ("out", "read", "ana")
    out2 = next(r for r in rows if r["chat"] == BOB and r["direction"] == "out")
    assert (out2["status"], out2["agent"]) == ("failed", "ben")
    assert [r["chat"] for r in rows if r["direction"] == "in"][-2:] == [BOB, BOB]


def test_csv_cells_that_look_like_formulas_are_neutralised(data_dir: Path) -> None:
    seed(data_dir / "crm.db")
    rows = csv_rows(crm(data_dir, "export", "--format", "csv", "--phone", ALICE).stdout)
    texts = [r["text"] for r in rows]
    for risky in RISKY_TEXTS:
        assert risky not in texts
        assert "'" + risky in texts
    assert texts[1] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for cell in row.values())
    bob = csv_rows(crm(data_dir, "export", "--format", "csv", "--phone", BOB).stdout)
    assert [r["text"] for r in bob] == ["hallo", "'=cmd|' /C calc'!A0", "later"]


SLY_TEXTS = ("hello;=1+1", " =HYPERLINK(\"http://evil.example\")", "\u00a0@SUM(A1:A2)",
             "ok; -2+3", "see below\n=cmd|' /C calc'!A0", "two lines\r\n  +1", "a, b; c")


def test_csv_formula_guard_holds_after_spaces_semicolons_and_line_breaks(
        data_dir: Path) -> None:
    from tests.audit_helpers import open_store
    from tests.factories import received

    carol = "85290000003"
    store = open_store(data_dir / "crm.db")
    try:
        store.record([received(carol, text, wamid=f"w.sly{i}")
                      for i, text in enumerate(SLY_TEXTS)])
    finally:
        store.close()
    out = crm(data_dir, "export", "--format", "csv", "--phone", carol).stdout
    body = out[1:]
    # Every cell is quoted, so a separator inside one never ends it.
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 1 + len(SLY_TEXTS)
    assert body.count('"') >= 2 * 9 * len(SLY_TEXTS)
    assert body.split("\n", 1)[1].startswith('"2026-')
    texts = [r["text"] for r in csv_rows(out)]  # (read as text: CRLF is LF)
    assert texts == ["hello;'=1+1",
                     "' =HYPERLINK(\"http://evil.example\")", "'\u00a0@SUM(A1:A2)",
                     "ok;' -2+3", "see below\n'=cmd|' /C calc'!A0", "two lines\n'  +1",
                     "a, b; c"]
    # A spreadsheet that splits on ';' (or on every line break) sees no formula.
    for separator in (";", ","):
        pieces = [cell for row in csv.reader(io.StringIO(body), delimiter=separator)
                  for cell in row]
        for raw in body.replace("\r", "\n").split("\n"):
            pieces.extend(raw.split(separator))
        starts = [p.lstrip().lstrip('"') for p in pieces]
        assert not [p for p in starts if p.startswith(("=", "+", "-", "@"))], separator


def test_api_export_streams_the_same_file_for_admins_only(data_dir: Path,
                                                         tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    cli = crm(data_dir, "export").stdout
    out = tmp_path / "bob.csv"
    assert crm(data_dir, "export", "--format", "csv", "--phone", BOB,
               "--output", str(out)).returncode == 0
    server = start_server(data_dir)
    try:
        admin = admin_headers(server)
        with server.client(headers=admin) as http:
            with http.stream("GET", "/api/export") as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("application/x-ndjson")
                assert "content-length" not in response.headers  # streamed, not buffered
                body = b"".join(response.iter_bytes()).decode("utf-8")
            # The server appended its own events (the first admin, the token) after ours.
            assert body.startswith(cli) and len(body) > len(cli)
            csv_body = http.get("/api/export", params={"format": "csv", "phone": BOB})
            assert csv_body.status_code == 200
            assert csv_body.headers["content-type"].startswith("text/csv")
            assert csv_body.content == out.read_bytes()
            typed = http.get("/api/export", params={"type": "custom.note"})
            assert [json.loads(line)["type"] for line in typed.text.splitlines()] == [
                "custom.note"]
            bad = http.get("/api/export", params={"until": "soon"})
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_parameter"
            assert http.get("/api/export", params={"format": "xml"}).status_code == 400
        create_agent(server, admin, "carla", "carla-password-123")
        token, _ = create_token(server, admin, "carla")
        agent = httpx.get(server.url + "/api/export", timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
        assert agent.status_code == 403
        assert agent.json()["error"]["code"] == "forbidden"
        assert httpx.get(server.url + "/api/export", timeout=10).status_code == 401
    finally:
        server.stop()


def test_csv_header_alone_for_an_empty_selection(data_dir: Path) -> None:
    seed(data_dir / "crm.db")
    conn = open_connection(data_dir / "crm.db", readonly=True)
    spec = begin(conn, "csv", make_filters(phone="nobody"))
    page = fetch_page(conn, spec, 0)
    conn.close()
    assert page.done and page.text == "" and page.rows == 0
    assert header(spec).strip("\ufeff\r\n").split(",")[0] == "time"


def test_a_progress_bar_only_on_a_terminal(data_dir: Path, tmp_path: Path) -> None:
    seed(data_dir / "crm.db")
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crm.cli", "export", "--output", str(tmp_path / "x.jsonl")],
            env=crm_env(data_dir), cwd=str(tmp_path), stderr=follower, timeout=60)
        os.close(follower)
        follower = -1
        assert result.returncode == 0
        shown = b""
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert b"export [##############################] 18/18 events" in shown
