"""The catalog file: WAL, foreign keys, migrations applied once, and no writes when up to date."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from core.catalog import DB_FILE, Catalog
from core.catalog.database import Database
from core.catalog.migrations import Migration, available
from core.errors import CatalogError


def fingerprint(folder: Path) -> dict[str, tuple[int, str]]:
    """Size, and content hash of every catalog file (db, -wal, -shm excluded: it is a cache)."""
    result = {}
    for file in sorted(folder.glob(DB_FILE + "*")):
        if file.name.endswith("-shm"):
            continue
        result[file.name] = (file.stat().st_mtime_ns, hashlib.sha256(file.read_bytes()).hexdigest())
    return result


async def test_opening_creates_a_wal_database_with_foreign_keys(tmp_path: Path) -> None:
    catalog = await Catalog.open(tmp_path)
    try:
        mode = await catalog.read(lambda db: db.execute("PRAGMA journal_mode").fetchone()[0])
        fks = await catalog.read(lambda db: db.execute("PRAGMA foreign_keys").fetchone()[0])
        versions = await catalog.read(
            lambda db: [r[0] for r in db.execute("SELECT version FROM schema_migrations")]
        )
    finally:
        await catalog.close()
    assert mode == "wal"
    assert fks == 1
    assert versions == [m.version for m in available()]


async def test_second_open_of_an_up_to_date_catalog_writes_nothing(tmp_path: Path) -> None:
    catalog = await Catalog.open(tmp_path)
    server_id = await catalog.ensure_setting("server_id", lambda: "first")
    await catalog.close()
    # checkpoint so the WAL is empty and the main file holds everything
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = fingerprint(tmp_path)
    for _ in range(2):
        catalog = await Catalog.open(tmp_path)
        assert await catalog.ensure_setting("server_id", lambda: "second") == server_id
        await catalog.close()
    assert fingerprint(tmp_path) == before


async def test_new_migrations_are_applied_in_order_and_only_once(tmp_path: Path) -> None:
    base = available()
    extra = Migration(len(base) + 1, "pets", "CREATE TABLE pets (id INTEGER PRIMARY KEY);\n")
    catalog = await Catalog.open(tmp_path, base)
    await catalog.close()
    catalog = await Catalog.open(tmp_path, [*base, extra])
    await catalog.write(lambda db: db.execute("INSERT INTO pets (id) VALUES (1)"))
    await catalog.close()
    catalog = await Catalog.open(tmp_path, [*base, extra])
    count = await catalog.read(lambda db: db.execute("SELECT count(*) FROM pets").fetchone()[0])
    await catalog.close()
    assert count == 1


async def test_a_failing_migration_rolls_back_and_names_itself(tmp_path: Path) -> None:
    bad = Migration(
        len(available()) + 1,
        "broken",
        "CREATE TABLE t (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n",
    )
    with pytest.raises(CatalogError, match="_broken failed: no such table: nowhere"):
        await Catalog.open(tmp_path, [*available(), bad])
    catalog = await Catalog.open(tmp_path)
    tables = await catalog.read(lambda db: db.table_names())
    await catalog.close()
    assert "t" not in tables


async def test_a_catalog_from_a_newer_hearth_is_refused(tmp_path: Path) -> None:
    future = Migration(len(available()) + 1, "future", "CREATE TABLE future (id INTEGER);\n")
    catalog = await Catalog.open(tmp_path, [*available(), future])
    await catalog.close()
    with pytest.raises(CatalogError, match="written by a newer Hearth"):
        await Catalog.open(tmp_path)


async def test_a_corrupt_catalog_file_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="cannot open the catalog"):
        await Catalog.open(tmp_path)


async def test_releasing_memory_shrinks_the_writer_and_every_reader(tmp_path: Path) -> None:
    """After a scan, each connection's page cache goes back (readers' too: after a restart's
    rescan they hold ~1 MiB each of pages read to compare the library)."""
    catalog = await Catalog.open(tmp_path)
    statements: dict[str, list[str]] = {}
    both_readers = threading.Barrier(2)

    def traced(name: str) -> Callable[[Database], None]:
        def install(db: Database) -> None:
            statements[name] = []
            db.conn.set_trace_callback(statements[name].append)
            if name.startswith("reader"):
                both_readers.wait(timeout=10)  # so each reader thread opens its connection

        return install

    try:
        await catalog.write(traced("writer"))
        await asyncio.gather(catalog.read(traced("reader 1")), catalog.read(traced("reader 2")))
        await catalog.release_memory()
    finally:
        await catalog.close()
    assert sorted(statements) == ["reader 1", "reader 2", "writer"]
    for name, seen in statements.items():
        assert "PRAGMA shrink_memory" in seen, name
