"""Restoring a backup into an empty data folder, and its configuration files beside the current.

The order is what keeps "nothing touched" true: the data folder must be empty (or missing);
the whole file is authenticated first (a wrong passphrase or a changed byte stops it before
anything is written); then it is unpacked into a private staging folder inside the data
folder, its catalog is migrated to this Hearth's schema (a backup from an older Hearth moves
forward; one from a newer Hearth is refused), the configuration folder is checked to be
writable, and only then are the staged files moved into place. A configuration file that
differs from the backup's is kept beside it as `NAME.before-restore`. Run as root (sudo on a
packaged box), restored files get the owner of the data folder and of configuration.yaml, so
the server's own user can read them. Functions block; it never starts the server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.backup import BackupError
from core.backup.archive import Manifest, read_backup_blocking
from core.backup.contents import CATALOG_FILE, count_people_blocking, schema_blocking
from core.catalog.migrations import available, migrate_blocking
from core.errors import CatalogError

ASIDE = ".before-restore"


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    """What a restore brought back and where."""

    manifest: Manifest
    people: int
    schema_from: int
    schema_to: int
    written: tuple[str, ...]  # configuration files written (new or replaced)
    kept_aside: tuple[str, ...]  # the replaced ones, kept as NAME.before-restore


def require_empty(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(f"{data_dir} is not a folder.")
    present = sorted(
        p.name
        for p in (data_dir.iterdir() if data_dir.is_dir() else ())
        if p.name != "lost+found"  # a freshly formatted disk mounted as the data folder
    )
    if present:
        shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
        raise BackupError(
            f"The data folder {data_dir} is not empty ({shown}): a backup is only restored "
            "into an empty one, so nothing there is overwritten. Stop the server, move the "
            "folder aside, and run the restore again."
        )


def restore_blocking(
    config_dir: Path, data_dir: Path, backup: Path, passphrase: str
) -> RestoreSummary:
    """Bring back everything in `backup`; raises BackupError, having changed nothing."""
    require_empty(data_dir)
    manifest = read_backup_blocking(backup, passphrase, None)
    newest = available()[-1].version
    if manifest.schema > newest:
        raise BackupError(
            f"{backup} comes from a newer Hearth ({manifest.hearth_version}, catalog schema "
            f"{manifest.schema}; this one knows {newest}): update Hearth, then restore."
        )
    created = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}"
    try:
        read_backup_blocking(backup, passphrase, staging)
        people, schema_to = _migrate_blocking(staging / CATALOG_FILE)
        plan = _config_plan(staging / "config", config_dir)
        if plan and not os.access(config_dir, os.W_OK):
            raise BackupError(
                f"Cannot write to the configuration folder {config_dir}: run the restore as "
                "a user who may (sudo on a packaged box)."
            )
        placed = _place_data_blocking(staging, data_dir)
        written, aside = _place_config_blocking(plan, config_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:  # leave no trace of an attempt that failed
            with contextlib.suppress(OSError):
                data_dir.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    if os.geteuid() == 0:
        owner = data_dir.stat()
        for path in [data_dir, *placed]:
            _chown_tree(path, owner.st_uid, owner.st_gid)
    return RestoreSummary(manifest, people, manifest.schema, schema_to, written, aside)


def _migrate_blocking(catalog: Path) -> tuple[int, int]:
    """Bring the restored catalog to this Hearth's schema; answers people and schema."""
    if not catalog.is_file():
        raise BackupError("The backup holds no catalog.")
    conn = sqlite3.connect(catalog, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate_blocking(conn, available())
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count_people_blocking(conn), schema_blocking(conn)
    except (sqlite3.Error, CatalogError) as err:
        raise BackupError(f"The backup's catalog cannot be brought up to date: {err}.") from err
    finally:
        conn.close()


def _place_data_blocking(staging: Path, data_dir: Path) -> list[Path]:
    """Move the catalog and the keys from staging into the data folder (same disk: renames)."""
    placed = []
    moves = [(staging / CATALOG_FILE, data_dir / CATALOG_FILE)]
    if (staging / "data").is_dir():
        moves += [(entry, data_dir / entry.name) for entry in (staging / "data").iterdir()]
    for source, target in moves:
        source.rename(target)
        placed.append(target)
    for leftover in (f"{CATALOG_FILE}-wal", f"{CATALOG_FILE}-shm"):
        (staging / leftover).unlink(missing_ok=True)
    return placed


def _config_plan(staged: Path, config_dir: Path) -> list[tuple[Path, Path]]:
    """(staged file, target) for every configuration file that is missing or differs."""
    if not staged.is_dir():
        return []
    plan = []
    for source in sorted(p for p in staged.rglob("*") if p.is_file()):
        target = config_dir / source.relative_to(staged)
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        plan.append((source, target))
    return plan


def _place_config_blocking(
    plan: list[tuple[Path, Path]], config_dir: Path
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    written: list[str] = []
    aside: list[str] = []
    reference = config_dir / "configuration.yaml"
    for source, target in plan:
        model = target if target.is_file() else reference if reference.is_file() else None
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.restore-{os.getpid()}")
        shutil.copyfile(source, temporary)
        if model is not None:
            shown = model.stat()
            os.chmod(temporary, shown.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(temporary, shown.st_uid, shown.st_gid)
        else:
            os.chmod(temporary, 0o600)
        if target.is_file():
            kept = _free_name(target.with_name(target.name + ASIDE))
            os.link(target, kept)  # the owner's file stays, under another name
            aside.append(str(kept.relative_to(config_dir)))
        os.replace(temporary, target)
        written.append(str(target.relative_to(config_dir)))
    return tuple(written), tuple(aside)


def _free_name(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{number}")
        number += 1
    return candidate


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            os.chown(child, uid, gid, follow_symlinks=False)
