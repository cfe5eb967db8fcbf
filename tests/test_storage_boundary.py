"""The storage boundary, read from the source: outside ``crm/events`` no module holds
SQL on the ``events`` table, and none names SQLite's exception classes (the store maps
them to ``crm.events.errors``, so catching them elsewhere is dead code at best).

SQL is looked for in the string literals of each module (f-strings with their
placeholders kept as ``{}``), docstrings left out: Python's own ``from crm.events
import ...`` is not SQL.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from crm.events import Database, open_connection
from crm.media import jobs
from crm.media.worker import media_fact

CRM = Path(__file__).resolve().parents[1] / "crm"

_TABLE = r'(?:[\w{}"]+\.)?"?events"?\b(?!\.)(?!\s+import\b)'
SQL_ON_EVENTS = re.compile(
    rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+{_TABLE}"
    r"|\bevents\s+WHERE\b"
    r"|\bjson_extract\s*\(\s*(?:\w+\.)?data\b",
    re.IGNORECASE,
)
SQLITE_ERRORS = re.compile(r"\bsqlite3\.(?:\w*Error|Warning)\b")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(CRM.rglob("*.py")):
        relative = path.relative_to(CRM).as_posix()
        if relative.startswith("events/"):
            continue
        yield relative, ast.parse(path.read_text(), relative)


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every string literal but docstrings; an f-string as one text, ``{}`` for each
    placeholder."""
    skip = _docstrings(tree)
    parts: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = ""
            for value in node.values:
                parts.add(id(value))
                text += value.value if isinstance(value, ast.Constant) else "{}"
            yield node.lineno, text
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip and id(node) not in parts):
            yield node.lineno, node.value


def _sql_on_events() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for relative, tree in _modules():
        for line, text in _strings(tree):
            match = SQL_ON_EVENTS.search(text)
            if match:
                found.setdefault(relative, []).append(f"line {line}: {match.group(0)!r}")
    return found


def test_the_pattern_sees_sql_and_not_python() -> None:
    for sql in ("SELECT * FROM events", "select position from events e where",
                "INSERT INTO events (id) VALUES (?)", "UPDATE events SET data = '{}'",
                "SELECT max(position) FROM log.events", 'DELETE FROM "events"',
                "SELECT 1 FROM {}.events", "FROM messages m JOIN events e ON",
                "DROP TABLE events", "SELECT id FROM events\nWHERE position = 1",
                "json_extract(e.data, '$.phone')", "JSON_EXTRACT(data,'$.x')"):
        assert SQL_ON_EVENTS.search(sql), sql
    for other in ("from crm.events import Database", "from crm.events.store import x",
                  "SELECT * FROM events_archive", "SELECT * FROM chat_events",
                  "json_extract(media, '$.url')", "INSERT INTO pending_events"):
        assert not SQL_ON_EVENTS.search(other), other


def test_no_sql_on_the_events_table_outside_crm_events() -> None:
    assert _sql_on_events() == {}, "SQL on events outside crm/events: use the Recorder"


def test_no_module_outside_crm_events_names_sqlite_errors() -> None:
    found: dict[str, list[str]] = {}
    for relative, tree in _modules():
        for node in ast.walk(tree):
            named = None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                dotted = f"{node.value.id}.{node.attr}"
                named = dotted if SQLITE_ERRORS.fullmatch(dotted) else None
            elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
                names = [a.name for a in node.names if a.name.endswith(("Error", "Warning"))]
                named = ", ".join(names) or None
            if named:
                found.setdefault(relative, []).append(f"line {node.lineno}: {named}")
    assert found == {}, "catch crm.events.errors instead: the store maps SQLite's errors"


async def test_the_media_fact_without_the_worker_is_empty(tmp_path: Path) -> None:
    """``media_fact`` (``/healthz``) now catches the store's error, not SQLite's."""
    db = Database(tmp_path / "crm.db")
    db.start()
    try:
        assert await db.read(media_fact) == {}
        conn = open_connection(db.path)  # as the worker does, on a connection of its own
        try:
            jobs.create_schema(conn)
        finally:
            conn.close()
        assert await db.read(media_fact) == {"media_pending": 0}
    finally:
        db.close()
