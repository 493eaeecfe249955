"""What a backup holds, and the digest that says whether any of it changed.

In a backup: the configuration folder's YAML files (configuration.yaml, secrets.yaml and what
they include) and its custom plugins; the data folder's keys (`KEPT_DATA`: the box's sealing
key, the relay's SSH identity, the TLS certificate and key, the relay's ACME account); and a
consistent copy of the catalog made with `VACUUM INTO` (safe while the server writes), less
what is worth nothing on another card (`DROPPED_TABLES`: the egress log, day-long stream
links). The catalog's media rows stay in it: items have random ids that progress, history,
playlists, stars and play queues point at, and a rescan of the same folders finds its files
by path and keeps those ids. Not in a backup: media files, thumbnails, transcode scratch,
caches and hardware measurements (all made again).

The digest covers every people table (every table but the media and dropped ones, so a table a
later migration adds is covered without a change here), the configuration files and the keys.
It never writes anywhere but the snapshot file it is asked to make.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.backup import BackupError

CATALOG_FILE = "catalog.db"
KEPT_DATA = ("secret.key", "ssh", "tls", "plugins/relay/acme")
DROPPED_TABLES = ("egress_ledger", "stream_links")
MEDIA_TABLES = ("files", "items", "item_genres")  # libraries stay: grants and LAN settings
MEDIA_PREFIX = "items_fts"  # the full-text index and its shadow tables
CONFIG_SUFFIXES = (".yaml", ".yml")
CUSTOM_PLUGINS = "custom_plugins"
SKIPPED_PARTS = ("__pycache__", ".git")


@dataclass(frozen=True, slots=True)
class Member:
    """One file that goes into a backup: its name there, and where it is now."""

    name: str  # "config/configuration.yaml", "data/tls/key.pem"
    path: Path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def config_members(config_dir: Path, exclude: tuple[Path, ...]) -> list[Member]:
    """The configuration folder's YAML files and custom plugins, never anything under the data
    folder or the backup folder (either may live inside it), never a link out of it."""
    root = config_dir.resolve()
    found: list[Member] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_PARTS or part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        if any(_inside(path, other.resolve()) for other in exclude):
            continue
        if path.suffix in CONFIG_SUFFIXES or relative.parts[0] == CUSTOM_PLUGINS:
            found.append(Member(f"config/{relative.as_posix()}", path))
    return found


def data_members(data_dir: Path) -> list[Member]:
    """The keys in the data folder that exist (a box without a relay has no SSH key)."""
    found: list[Member] = []
    for kept in KEPT_DATA:
        top = data_dir / kept
        paths = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for path in paths:
            if path.is_file() and not path.is_symlink():
                name = path.relative_to(data_dir).as_posix()
                found.append(Member(f"data/{name}", path))
    return found


@contextlib.contextmanager
def catalog_snapshot_blocking(data_dir: Path) -> Iterator[Path]:
    """A consistent copy of the catalog less the dropped tables, removed afterwards.

    It is made in the data folder (same disk, private, and not a RAM-backed /tmp on a Pi)."""
    source = data_dir / CATALOG_FILE
    if not source.is_file():
        raise BackupError(f"There is no catalog in {data_dir}: nothing to back up.")
    _forget_abandoned_blocking(data_dir)
    snapshot = data_dir / f".backup-{os.getpid()}-{CATALOG_FILE}"
    snapshot.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(source, timeout=30)
        try:
            conn.execute("VACUUM INTO ?", [str(snapshot)])
        finally:
            conn.close()
        copy = sqlite3.connect(snapshot, isolation_level=None)
        try:
            present = _tables(copy)
            for table in DROPPED_TABLES:
                if table in present:
                    copy.execute(f'DELETE FROM "{table}"')
            copy.execute("VACUUM")  # the deleted rows' bytes must not linger in free pages
        finally:
            copy.close()
        yield snapshot
    except sqlite3.Error as err:
        raise BackupError(f"Cannot copy the catalog {source}: {err}.") from err
    finally:
        snapshot.unlink(missing_ok=True)


def _forget_abandoned_blocking(data_dir: Path) -> None:
    """Remove copies left by a backup whose process died (a power cut mid-backup)."""
    for leftover in data_dir.glob(f".backup-*-{CATALOG_FILE}"):
        pid = leftover.name.split("-")[1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except PermissionError:
            continue  # alive, another user's: its backup is still running


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def people_tables(conn: sqlite3.Connection) -> list[str]:
    """Every table about people and the box's settings: all but media, dropped and index."""
    return [
        name
        for name in _tables(conn)
        if name not in MEDIA_TABLES
        and name not in DROPPED_TABLES
        and not name.startswith(MEDIA_PREFIX)
        and name != "schema_migrations"
    ]


def people_digest_blocking(conn: sqlite3.Connection) -> str:
    """SHA-256 over every row of every people table, in a stable order."""
    digest = hashlib.sha256()
    for table in people_tables(conn):
        columns = len(conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description)
        order = ", ".join(str(n) for n in range(1, columns + 1))
        digest.update(f"\0table {table}\0".encode())
        for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
            digest.update(repr(tuple(row)).encode() + b"\n")
    return digest.hexdigest()


def files_digest_blocking(members: list[Member]) -> str:
    """SHA-256 over the names and bytes of the configuration files and keys."""
    digest = hashlib.sha256()
    for member in members:
        digest.update(f"\0file {member.name}\0".encode())
        digest.update(member.path.read_bytes())
    return digest.hexdigest()


def count_people_blocking(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def schema_blocking(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)
