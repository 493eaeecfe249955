"""Writes scan results into the catalog: files, items, containers, genres and search text.

Runs in the catalog's writer thread inside one transaction per batch (see Catalog.write), so a
killed process loses at most the batch in flight and never leaves half an item. Containers
(show, season, artist, album) are found again by their chain of group keys, so a rescan
never duplicates them. It never decides what a file is; planning did that.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Iterable
from typing import Any

from core.catalog.database import Database
from core.kinds import FileRecord
from core.scan.analysis import Analysis
from core.scan.planning import ContainerPlan, ItemPlan, sort_title

ContainerPath = tuple[str, ...]


def safe_text(text: str) -> str:
    """A file name that is not UTF-8 arrives surrogate-escaped; SQLite text must be valid
    UTF-8, so undecodable bytes show as U+FFFD in titles (the path itself is kept as bytes)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def new_item_id() -> str:
    """Random and unguessable: an id must never reveal or be derived from a path."""
    return secrets.token_hex(12)


def container_path(plans: Iterable[ContainerPlan]) -> ContainerPath:
    """`("show:the office", "season:0002")`: a container's identity within its library."""
    return tuple(f"{plan.kind}:{plan.group_key}" for plan in plans)


def load_containers_blocking(db: Database, library_id: int) -> dict[ContainerPath, int]:
    """Every container of a library by its path of group keys."""
    rows = list(
        db.execute(
            "SELECT pk, parent_pk, kind, group_key FROM items "
            "WHERE library_id = ? AND file_id IS NULL AND group_key IS NOT NULL",
            [library_id],
        )
    )
    by_pk = {pk: (parent, f"{kind}:{key}") for pk, parent, kind, key in rows}
    result: dict[ContainerPath, int] = {}
    for pk in by_pk:
        chain: list[str] = []
        current: int | None = pk
        while current is not None and current in by_pk:
            parent, step = by_pk[current]
            chain.append(step)
            current = parent
        result[tuple(reversed(chain))] = pk
    return result


class CatalogWriter:
    """One batch's writes; create it inside `Catalog.write` and use it there only."""

    def __init__(
        self,
        db: Database,
        library_id: int,
        containers: dict[ContainerPath, int],
        now: str,
    ) -> None:
        self._db = db
        self._library_id = library_id
        self._containers = containers
        self._now = now
        self.created_containers: list[ContainerPath] = []

    def _facts(self, record: FileRecord, analysis: Analysis | None) -> list[Any]:
        """size, mtime_ns, inode, head_hash, probe, error, seen_at: what a scan learns of a file."""
        return [
            record.size,
            record.mtime_ns,
            record.inode,
            analysis.head_hash if analysis else None,
            _probe_json(analysis),
            analysis.error if analysis else None,
            self._now,
        ]

    def add_file(self, record: FileRecord, role: str, analysis: Analysis | None) -> int:
        """A new file row; its probe is kept as JSON for playback decisions."""
        cursor = self._db.execute(
            "INSERT INTO files (library_id, root, relpath, role, size, mtime_ns, inode, "
            "head_hash, probe, error, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self._library_id,
                os.fsencode(record.root),
                os.fsencode(record.relpath),
                role,
                *self._facts(record, analysis),
            ],
        )
        return int(cursor.lastrowid or 0)

    def update_file(self, file_id: int, record: FileRecord, analysis: Analysis | None) -> None:
        """A changed (or moved) file keeps its row, so its item keeps its id."""
        self._db.execute(
            "UPDATE files SET root = ?, relpath = ?, size = ?, mtime_ns = ?, inode = ?, "
            "head_hash = COALESCE(?, head_hash), probe = COALESCE(?, probe), error = ?, "
            "seen_at = ? WHERE id = ?",
            [
                os.fsencode(record.root),
                os.fsencode(record.relpath),
                *self._facts(record, analysis),
                file_id,
            ],
        )

    def delete_files(self, file_ids: list[int]) -> None:
        """Files gone from an online source: their items go too (watch state with them)."""
        for start in range(0, len(file_ids), 500):
            chunk = file_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self._db.execute(f"DELETE FROM items WHERE file_id IN ({marks})", chunk)
            self._db.execute(f"DELETE FROM files WHERE id IN ({marks})", chunk)

    def container(
        self, plans: tuple[ContainerPlan, ...], fields: dict[ContainerPath, dict[str, Any]]
    ) -> int | None:
        """The innermost container's pk, creating any that are missing (with their metadata)."""
        parent: int | None = None
        for depth in range(len(plans)):
            path = container_path(plans[: depth + 1])
            pk = self._containers.get(path)
            if pk is None:
                plan = plans[depth]
                meta = fields.get(path, {})
                pk = self._insert_item(
                    kind=plan.kind,
                    parent=parent,
                    title=meta.get("title") or plan.title,
                    group_key=plan.group_key,
                    year=meta.get("year") or plan.year,
                    index_number=plan.index_number,
                    file_id=None,
                    metadata=meta,
                    folder=plan.folder,
                )
                self._containers[path] = pk
                self.created_containers.append(path)
            parent = pk
        return parent

    def upsert_leaf(
        self, file_id: int, plan: ItemPlan, parent: int | None, metadata: dict[str, Any]
    ) -> None:
        """The item of a file: updated in place when it exists (same id, same watch state)."""
        row = self._db.execute("SELECT pk FROM items WHERE file_id = ?", [file_id]).fetchone()
        values = {
            "kind": plan.kind,
            "parent": parent,
            "title": metadata.get("title") or plan.title,
            "group_key": None,
            "year": metadata.get("year") or plan.year,
            "index_number": plan.index_number,
            "file_id": file_id,
            "metadata": metadata,
            "index_end": plan.index_end,
            "disc_number": plan.disc_number,
            "duration": plan.duration,
            "taken_at": plan.taken_at,
            "folder": None,
        }
        if row is None:
            self._insert_item(**values)
        else:
            self.update_item(row[0], values)

    def _insert_item(self, **values: Any) -> int:
        cursor = self._db.execute(
            "INSERT INTO items (id, library_id, parent_pk, kind, title, sort_title, group_key, "
            "year, index_number, index_end, disc_number, file_id, duration, taken_at, "
            "content_rating, folder, added_at, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                new_item_id(),
                self._library_id,
                values["parent"],
                values["kind"],
                safe_text(values["title"]),
                _sort(values),
                values["group_key"],
                values["year"],
                values["index_number"],
                values.get("index_end"),
                values.get("disc_number"),
                values["file_id"],
                values.get("duration"),
                values.get("taken_at"),
                values["metadata"].get("content_rating"),
                _folder(values.get("folder")),
                self._now,
                json.dumps(values["metadata"], sort_keys=True),
            ],
        )
        pk = int(cursor.lastrowid or 0)
        self._index(pk, values["title"], values["metadata"])
        return pk

    def update_item(self, pk: int, values: dict[str, Any]) -> None:
        """Rewrite an item's descriptive columns, keeping its id, parent and added date."""
        self._db.execute(
            "UPDATE items SET parent_pk = ?, kind = ?, title = ?, sort_title = ?, year = ?, "
            "index_number = ?, index_end = ?, disc_number = ?, duration = ?, taken_at = ?, "
            "content_rating = ?, metadata = ? WHERE pk = ?",
            [
                values["parent"],
                values["kind"],
                safe_text(values["title"]),
                _sort(values),
                values["year"],
                values["index_number"],
                values.get("index_end"),
                values.get("disc_number"),
                values.get("duration"),
                values.get("taken_at"),
                values["metadata"].get("content_rating"),
                json.dumps(values["metadata"], sort_keys=True),
                pk,
            ],
        )
        self._index(pk, values["title"], values["metadata"])

    def update_metadata(self, pk: int, title: str, metadata: dict[str, Any]) -> None:
        """New provider results for an item whose file did not change (an nfo was edited)."""
        self._db.execute(
            "UPDATE items SET title = ?, sort_title = ?, year = COALESCE(?, year), "
            "content_rating = ?, metadata = ? WHERE pk = ?",
            [
                safe_text(title),
                _sort({"title": title, "metadata": metadata}),
                metadata.get("year"),
                metadata.get("content_rating"),
                json.dumps(metadata, sort_keys=True),
                pk,
            ],
        )
        self._index(pk, title, metadata)

    def _index(self, pk: int, title: str, metadata: dict[str, Any]) -> None:
        people = " ".join(
            p.get("name", "") for p in metadata.get("people", []) if isinstance(p, dict)
        )
        artists = " ".join(filter(None, [metadata.get("artist"), metadata.get("album_artist")]))
        self._db.execute("DELETE FROM items_fts WHERE rowid = ?", [pk])
        self._db.execute(
            "INSERT INTO items_fts (rowid, title, people, artists, albums) VALUES (?, ?, ?, ?, ?)",
            [pk, *(safe_text(t) for t in (title, people, artists, metadata.get("album") or ""))],
        )
        self._db.execute("DELETE FROM item_genres WHERE item_pk = ?", [pk])
        genres = {g.strip() for g in metadata.get("genres", []) if isinstance(g, str) and g.strip()}
        for genre in sorted(genres, key=str.casefold):
            self._db.execute(
                "INSERT OR IGNORE INTO item_genres (item_pk, genre) VALUES (?, ?)",
                [pk, safe_text(genre)],
            )

    def prune_empty_containers(self) -> int:
        """Remove shows, seasons, albums and artists left without children; returns how many."""
        removed = 0
        while True:
            cursor = self._db.execute(
                "DELETE FROM items WHERE library_id = ? AND file_id IS NULL "
                "AND group_key IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM items AS child WHERE child.parent_pk = items.pk)",
                [self._library_id],
            )
            if cursor.rowcount <= 0:
                break
            removed += cursor.rowcount
        if removed:
            for path, pk in list(self._containers.items()):
                if not self._db.execute("SELECT 1 FROM items WHERE pk = ?", [pk]).fetchone():
                    del self._containers[path]
        return removed


def _sort(values: dict[str, Any]) -> str:
    return safe_text(sort_title(values["metadata"].get("sort_title") or values["title"]))


def _folder(folder: str | None) -> bytes | None:
    return os.fsencode(folder) if folder else None


def _probe_json(analysis: Analysis | None) -> str | None:
    """The probe as stored: the JSON of `dataclasses.asdict(probe)` (sorted keys, a datetime
    as str()), built without asdict, which deep-copies every value and was a third of a
    scan's write time; the workers wait for the writes."""
    if analysis is None or analysis.probe is None:
        return None
    return json.dumps(_plain(analysis.probe), default=str, sort_keys=True)


# The field names of each type met (None: not a dataclass), looked up once: asking
# is_dataclass of every str and int in a probe cost as much as the rest of the conversion
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _plain(value: Any) -> Any:
    """Dataclasses as dicts and tuples as lists, the rest as it is (json.dumps reads them)."""
    kind = type(value)
    try:
        names = _FIELDS[kind]
    except KeyError:
        dataclass_fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else None
        names = _FIELDS[kind] = (
            None if dataclass_fields is None else tuple(f.name for f in dataclass_fields)
        )
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value
