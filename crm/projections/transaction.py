"""What a projection handler may do with the database: read and write rows, nothing else.

Handlers run inside a transaction someone else owns (the append, a catch-up, a
replay). A handler that committed would make its events durable before the rest of
the group, one that rolled back would drop them, so the handler gets this object
instead of the connection: statements that are not row reads or writes (``BEGIN``,
``COMMIT``, ``ROLLBACK``, ``SAVEPOINT``, ``PRAGMA``, ``ATTACH``, DDL...) are refused,
and no cursor (which would lead back to the connection) is ever handed out.

The append path runs handlers for every event, so the guard is cheap: each distinct
SQL text is vetted once and remembered, and the methods are closures over the
connection's bound methods, made once per transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from crm.events import EventStore, Recorder
from crm.projections.options import FoldOptions

Params = Sequence[Any] | dict[str, Any]

#: The first keyword of every statement a handler may run.
ALLOWED = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "VALUES"})

#: SQL texts already vetted. Bounded: a handler that formats values into its SQL (it
#: should not) is still checked every time, just not remembered.
_VETTED: set[str] = set()
_VETTED_MAX = 4096


class StatementRefused(Exception):
    """A handler tried to run a statement that is not a row read or write."""


def first_keyword(sql: str) -> str:
    """The statement's first keyword, past whitespace and comments."""
    text = sql.lstrip()
    while True:
        if text.startswith("--"):
            _, _, text = text.partition("\n")
        elif text.startswith("/*"):
            _, _, text = text.partition("*/")
        else:
            break
        text = text.lstrip()
    word = []
    for char in text:
        if not char.isalpha():
            break
        word.append(char)
    return "".join(word).upper()


def vet(sql: str) -> None:
    keyword = first_keyword(sql)
    if keyword not in ALLOWED:
        raise StatementRefused(
            f"a projection handler may only read and write rows, not run {keyword or sql!r}")
    if len(_VETTED) < _VETTED_MAX:
        _VETTED.add(sql)


class Transaction:
    """The running transaction as a handler sees it.

    ``execute`` and ``executemany`` write (they return nothing); ``fetchone``,
    ``fetchall`` and ``fetchval`` read (``fetchval``: the first column of the first
    row, or None).
    """

    __slots__ = ("execute", "executemany", "fetchone", "fetchall", "fetchval", "events",
                 "options", "memo")

    execute: Callable[..., None]
    executemany: Callable[..., None]
    fetchone: Callable[..., tuple | None]
    fetchall: Callable[..., list[tuple]]
    fetchval: Callable[..., Any]
    #: The log, read inside this transaction (handlers never write events).
    events: Recorder
    #: The settings that shape what handlers write (the same live and in replay).
    options: FoldOptions
    #: What a projection remembers of its own rows for the rest of this transaction (it
    #: dies with it, rolled back or not): see ``identities.chat_of``.
    memo: dict[str, Any]

    def __init__(self, conn: sqlite3.Connection, options: FoldOptions | None = None) -> None:
        run = conn.execute
        run_many = conn.executemany
        vetted = _VETTED

        def execute(sql: str, params: Params = ()) -> None:
            if sql not in vetted:
                vet(sql)
            run(sql, params)

        def executemany(sql: str, rows: Iterable[Params]) -> None:
            if sql not in vetted:
                vet(sql)
            run_many(sql, rows)

        def fetchone(sql: str, params: Params = ()) -> tuple | None:
            if sql not in vetted:
                vet(sql)
            return run(sql, params).fetchone()

        def fetchall(sql: str, params: Params = ()) -> list[tuple]:
            if sql not in vetted:
                vet(sql)
            return run(sql, params).fetchall()

        def fetchval(sql: str, params: Params = ()) -> Any:
            if sql not in vetted:
                vet(sql)
            row = run(sql, params).fetchone()
            return None if row is None else row[0]

        self.execute = execute
        self.executemany = executemany
        self.fetchone = fetchone
        self.fetchall = fetchall
        self.fetchval = fetchval
        self.events = EventStore.over(conn)
        self.options = options or FoldOptions()
        self.memo = {}
