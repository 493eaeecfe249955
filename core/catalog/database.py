"""The catalog's handle on one SQLite connection: `execute` with the transaction rules every
`*_blocking` function is written against, and nothing else.

The project used to wrap its connections in sqlite-utils' `Database`, of which it called only
`execute`, `executescript`, `table_names`, `close` and `conn`; importing that package (with
click, dateutil and pluggy) cost ~5 MB of resident memory and a tenth of the server's start on
a Pi. This class keeps the same behaviour for those calls: a statement that opens a transaction
implicitly (an INSERT outside `BEGIN`) is committed at once, and one that fails is rolled back,
so a lone write never leaves a transaction holding the writer. Inside an explicit transaction
(`Catalog.write` runs `BEGIN IMMEDIATE`) statements are only executed.

It never opens a connection itself: the catalog's store does, with its pragmas.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

# Statements that manage the transaction themselves: never committed behind their back.
_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class Database:
    """One connection and the catalog's way of running statements on it."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Triggers that fire triggers (the search index's) behave as the schema expects.
        conn.execute("PRAGMA recursive_triggers = on")

    def execute(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()
    ) -> sqlite3.Cursor:
        """Run one statement; a write outside a transaction is committed (or, failing, rolled
        back) before this returns."""
        outside = not self.conn.in_transaction
        try:
            cursor = self.conn.execute(sql, parameters)
        except Exception:
            if outside and self.conn.in_transaction:
                self.conn.rollback()
            raise
        if (
            outside
            and self.conn.in_transaction
            and cursor.description is None
            and _first_word(sql) not in _CONTROL
        ):
            self.conn.commit()
        return cursor

    def executescript(self, sql: str) -> sqlite3.Cursor:
        return self.conn.executescript(sql)

    def table_names(self) -> list[str]:
        """The names of the tables (not views or indexes) in this database."""
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [name for (name,) in rows.fetchall()]

    def close(self) -> None:
        self.conn.close()


def _first_word(sql: str) -> str:
    """The statement's first keyword, upper-case, past leading blanks and `--` comments."""
    text = sql.lstrip()
    while text.startswith("--"):
        text = text.partition("\n")[2].lstrip()
    return text.split(None, 1)[0].upper() if text else ""
