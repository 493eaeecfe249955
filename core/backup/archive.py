"""Writing a backup file and reading one back: a gzip'd tar stream inside the sealed envelope.

The tar holds `manifest.json` first (format, when, which Hearth, catalog schema, how many
people, the digest), then `config/…`, `data/…` and `catalog.db`. A file is written to a
temporary name beside its destination, synced, then linked into place, so a power cut leaves
either no backup or a whole one, and an existing file is never overwritten. Reading checks
every name against what a backup may hold, so even a file sealed with the right passphrase
cannot write outside the folder it is unpacked into. Its functions block (files, argon2,
SQLite) and are called through asyncio.to_thread by the server. It never sends anything
anywhere and never logs a passphrase.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from core.backup import BackupError
from core.backup.contents import (
    CATALOG_FILE,
    KEPT_DATA,
    Member,
    catalog_snapshot_blocking,
    config_members,
    count_people_blocking,
    data_members,
    files_digest_blocking,
    people_digest_blocking,
    schema_blocking,
)
from core.backup.envelope import DEFAULT_KDF, KdfParams, OpeningReader, SealingWriter

MANIFEST = "manifest.json"
FORMAT = "hearth-backup/1"
MIN_PASSPHRASE = 12


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the manifest of a backup says."""

    created_at: str
    hearth_version: str
    schema: int
    people: int
    digest: str


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """A backup just written."""

    path: Path
    manifest: Manifest
    files: int  # configuration files and keys
    size: int


def check_passphrase(passphrase: str) -> None:
    """A new backup needs a passphrase that resists guessing: it guards password hashes and
    the box's keys. Restoring accepts whatever the backup was made with."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(
            f"The passphrase is too short: use at least {MIN_PASSPHRASE} characters "
            "(a few words are easy to remember)."
        )


def current_digest_blocking(config_dir: Path, data_dir: Path, conn: sqlite3.Connection) -> str:
    """The digest a backup made now would carry, read from the live catalog."""
    files = config_members(config_dir, (data_dir,)) + data_members(data_dir)
    return _combined(people_digest_blocking(conn), files)


def _combined(people: str, files: list[Member]) -> str:
    return f"{people[:32]}{files_digest_blocking(files)[:32]}"


def write_backup_blocking(
    config_dir: Path,
    data_dir: Path,
    dest: Path,
    passphrase: str,
    params: KdfParams = DEFAULT_KDF,
) -> BackupSummary:
    """Seal the configuration, the keys and a copy of the catalog into `dest`."""
    from core import __version__

    check_passphrase(passphrase)
    if dest.exists():
        raise BackupError(f"{dest} exists already: choose another name.")
    if not dest.parent.is_dir():
        raise BackupError(f"The folder {dest.parent} does not exist.")
    members = config_members(config_dir, (data_dir,)) + data_members(data_dir)
    with catalog_snapshot_blocking(data_dir) as snapshot:
        conn = sqlite3.connect(snapshot)
        try:
            manifest = Manifest(
                created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                hearth_version=__version__,
                schema=schema_blocking(conn),
                people=count_people_blocking(conn),
                digest=_combined(people_digest_blocking(conn), members),
            )
        finally:
            conn.close()
        _seal_blocking(
            dest, passphrase, params, manifest, [*members, Member(CATALOG_FILE, snapshot)]
        )
    return BackupSummary(dest, manifest, len(members), dest.stat().st_size)


def _seal_blocking(
    dest: Path, passphrase: str, params: KdfParams, manifest: Manifest, members: list[Member]
) -> None:
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            sealer = SealingWriter(out, passphrase, params)
            with tarfile.open(fileobj=cast(IO[bytes], sealer), mode="w|gz") as tar:
                _add(tar, MANIFEST, json.dumps({"format": FORMAT, **_as_dict(manifest)}).encode())
                for member in members:
                    _add_file(tar, member.name, member.path)
            sealer.finish()
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, dest)  # never over a file that appeared meanwhile
        except FileExistsError:
            raise BackupError(f"{dest} exists already: choose another name.") from None
    except OSError as err:
        raise BackupError(f"Cannot write {dest}: {err.strerror or err}.") from err
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(dest.parent, os.O_RDONLY)
    try:  # the new name must survive a power cut too
        os.fsync(folder)
    finally:
        os.close(folder)


def _as_dict(manifest: Manifest) -> dict[str, Any]:
    return {
        "created_at": manifest.created_at,
        "hearth_version": manifest.hearth_version,
        "schema": manifest.schema,
        "people": manifest.people,
        "digest": manifest.digest,
    }


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    """Streamed from the file: a catalog of hundreds of MB never sits in memory whole."""
    with path.open("rb") as source:
        info = tarfile.TarInfo(name)
        info.size, info.mode = os.fstat(source.fileno()).st_size, 0o600
        info.mtime = int(time.time())
        tar.addfile(info, source)


def _allowed(name: str) -> bool:
    """Only names a writer makes: no absolute paths, no `..`, data only from KEPT_DATA."""
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        return False
    if name in (MANIFEST, CATALOG_FILE):
        return True
    if path.parts[0] == "config" and len(path.parts) > 1:
        return True
    if path.parts[0] == "data" and len(path.parts) > 1:
        inner = "/".join(path.parts[1:])
        return any(inner == kept or inner.startswith(kept + "/") for kept in KEPT_DATA)
    return False


@contextmanager
def _opened(path: Path, passphrase: str) -> Iterator[tuple[OpeningReader, tarfile.TarFile]]:
    try:
        source = path.open("rb")
    except OSError as err:
        raise BackupError(f"Cannot read {path}: {err.strerror or err}.") from err
    with source:
        reader = OpeningReader(source, passphrase, str(path))
        try:
            with tarfile.open(fileobj=cast(IO[bytes], reader), mode="r|gz") as tar:
                yield reader, tar
        except (tarfile.TarError, EOFError, OSError, ValueError) as err:
            raise BackupError(f"{path} opens but its contents are not a backup ({err}).") from err


def _manifest(data: bytes, path: Path) -> Manifest:
    try:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise ValueError(raw.get("format"))
        return Manifest(
            str(raw["created_at"]),
            str(raw["hearth_version"]),
            int(raw["schema"]),
            int(raw["people"]),
            str(raw["digest"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BackupError(f"{path} has no manifest this Hearth can read ({err}).") from err


def read_backup_blocking(path: Path, passphrase: str, into: Path | None) -> Manifest:
    """Authenticate every byte of `path`; with `into`, also unpack it there (a new folder)."""
    manifest: Manifest | None = None
    with _opened(path, passphrase) as (reader, tar):
        for info in tar:
            if not info.isreg() or not _allowed(info.name):
                raise BackupError(f"{path} holds {info.name!r}, which no backup holds.")
            extracted = tar.extractfile(info)
            if extracted is None:
                raise BackupError(f"{path}: {info.name!r} cannot be read.")
            if manifest is None:
                if info.name != MANIFEST:
                    raise BackupError(f"{path} does not start with a manifest.")
                manifest = _manifest(extracted.read(), path)
            elif into is not None:
                _unpack(extracted, into / info.name)
            else:
                while extracted.read(1 << 20):
                    pass
        reader.drain()
    if manifest is None:
        raise BackupError(f"{path} is empty.")
    return manifest


def _unpack(source: IO[bytes], target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := source.read(1 << 20):
            out.write(block)
