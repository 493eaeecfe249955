"""Migration 0010 re-folds sort keys written before accents were folded: a catalog made by an
older Hearth sorts "Édith et Moi" under E once migrated (keys already folded match the
migration's WHERE and are not rewritten)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.catalog.migrations import available, migrate_blocking


def test_old_sort_keys_are_folded_so_accents_sort_with_their_letter(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    migrate_blocking(conn, [m for m in available() if m.version < 10])
    conn.execute(
        "INSERT INTO libraries (id, source_id, name, kind, created_at) "
        "VALUES (1, 'folders:Movies', 'Movies', 'movies', '2026-01-01')"
    )
    for pk, title, key in ((1, "Édith et Moi", "édith et moi"), (2, "Zephyr", "zephyr")):
        conn.execute(
            "INSERT INTO items (pk, id, library_id, kind, title, sort_title, added_at) "
            "VALUES (?, ?, 1, 'movie', ?, ?, '2026-01-01')",
            [pk, f"item{pk}", title, key],
        )
    assert migrate_blocking(conn, available())[0] == 10
    order = [r[0] for r in conn.execute("SELECT title FROM items ORDER BY sort_title")]
    assert order == ["Édith et Moi", "Zephyr"]
    keys = dict(conn.execute("SELECT pk, sort_title FROM items").fetchall())
    assert keys == {1: "edith et moi", 2: "zephyr"}
