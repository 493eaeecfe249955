"""The catalog's connection handle: a lone write is committed at once, a failed one leaves no
transaction open, and inside an explicit transaction nothing is committed behind its back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.catalog.database import Database


def opened(path: Path) -> Database:
    db = Database(sqlite3.connect(path, check_same_thread=False))
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    return db


def rows(path: Path) -> list[str]:
    other = sqlite3.connect(path)  # another connection sees only what was committed
    try:
        return [name for (name,) in other.execute("SELECT name FROM t ORDER BY id")]
    finally:
        other.close()


def test_a_lone_write_is_committed_and_a_failed_one_leaves_nothing_open(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = opened(path)
    db.execute("INSERT INTO t (name) VALUES (?)", ["a"])
    assert not db.conn.in_transaction and rows(path) == ["a"]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO t (name) VALUES (?)", ["a"])
    assert not db.conn.in_transaction  # the writer is not held by a half-done statement
    assert db.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert db.table_names() == ["t"]
    db.close()


def test_inside_an_explicit_transaction_nothing_is_committed_early(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = opened(path)
    db.execute("-- the writer's way\nBEGIN IMMEDIATE")
    db.execute("INSERT INTO t (name) VALUES (:name)", {"name": "b"})
    assert db.conn.in_transaction and rows(path) == []
    db.conn.rollback()
    assert rows(path) == []
    assert db.execute("PRAGMA recursive_triggers").fetchone() == (1,)
    db.close()
