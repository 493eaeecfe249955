"""Numbered schema migrations, applied in order at start, each in its own transaction.

A migration is a file `NNNN_name.sql` in the migrations folder. Applied versions are recorded in
`schema_migrations`; a database that is up to date is only read, never written (SD cards wear
out). Migrations never go backwards: a database newer than this code is refused.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.catalog.sort_keys import fold
from core.errors import CatalogError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step."""

    version: int
    name: str
    sql: str


def available(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations shipped with this code, in order; numbering gaps are a packaging bug."""
    found = []
    for file in sorted(folder.iterdir()):
        match = _FILE.match(file.name)
        if match:
            found.append(Migration(int(match[1]), match[2], file.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise CatalogError(f"migration {migration.version:04d} is out of sequence")
    return found


def applied_blocking(conn: sqlite3.Connection) -> set[int]:
    """Versions already applied; an empty database has none."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
    ).fetchone()
    if not exists:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate_blocking(conn: sqlite3.Connection, migrations: list[Migration]) -> list[int]:
    """Apply what is missing; returns the versions applied now (empty when up to date).
    The SQL functions migrations call are registered here, on whichever connection is being
    migrated (the server's, or a backup's being restored)."""
    conn.create_function("fold_sort_key", 1, fold, deterministic=True)  # 0009
    done = applied_blocking(conn)
    newest = max((m.version for m in migrations), default=0)
    if done and max(done) > newest:
        raise CatalogError(
            f"the catalog was written by a newer Hearth (schema {max(done)}, this one knows "
            f"{newest}); refusing to touch it"
        )
    pending = [m for m in migrations if m.version not in done]
    for migration in pending:
        try:
            conn.execute("BEGIN IMMEDIATE")
            if not done:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
            done.add(migration.version)
        except sqlite3.Error as err:
            conn.execute("ROLLBACK")
            raise CatalogError(
                f"migration {migration.version:04d}_{migration.name} failed: {err}"
            ) from err
    return [m.version for m in pending]


def _statements(sql: str) -> list[str]:
    """Split a script on complete statements so each runs inside our own transaction.

    `executescript` would commit first; `sqlite3.complete_statement` knows where a trigger ends.
    """
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in current.splitlines()
    ):
        raise CatalogError(f"incomplete SQL statement at the end of a migration: {current!r}")
    return statements
