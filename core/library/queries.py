"""Read-side queries over the catalog for browsing: lists with filters, one item in full.

Blocking functions run in the catalog's reader threads. Items of offline libraries are left out
of lists (their drive is away) but can still be fetched by id, marked offline. Filters are
parameters, never string-built SQL from input. It never writes.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from core.catalog.database import Database
from core.library.fields import ARTWORK_KINDS
from core.people.access import EVERYTHING, Principal

SORTS = {
    "title": "items.sort_title",
    "added": "items.added_at",
    "year": "items.year",
    "index": "items.disc_number, items.index_number",
    "taken": "items.taken_at",
    "duration": "items.duration",
}
_COLUMNS = (
    "items.pk, items.id, items.kind, items.title, items.library_id, parent.id, libraries.online, "
    "items.year, items.index_number, items.index_end, items.disc_number, items.duration, "
    "items.taken_at, items.added_at, items.content_rating, items.metadata, parent.title, "
    "items.file_id, (SELECT count(*) FROM items AS child WHERE child.parent_pk = items.pk)"
)
_FROM = (
    "FROM items JOIN libraries ON libraries.id = items.library_id "
    "LEFT JOIN items AS parent ON parent.pk = items.parent_pk"
)


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Filters of GET /api/items, already validated."""

    library: int | None = None
    parent: str | None = None
    kind: str | None = None
    genre: str | None = None
    year: int | None = None
    text: str | None = None
    sort: str = "title"
    descending: bool = False
    offset: int = 0
    limit: int = 50


def fts_query(text: str) -> str | None:
    """Each word as a quoted prefix term: `star wa` -> `"star"* "wa"*` (no FTS syntax leaks)."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    return " ".join(f'"{word}"*' for word in words[:12]) or None


def item_summary(row: tuple[Any, ...]) -> dict[str, Any]:
    """The list form of an item: enough for a grid card."""
    (
        _pk,
        item_id,
        kind,
        title,
        library_id,
        parent_id,
        online,
        year,
        index_number,
        index_end,
        disc_number,
        duration,
        taken_at,
        added_at,
        content_rating,
        metadata,
        parent_title,
        file_id,
        children,
    ) = row
    meta = json.loads(metadata)
    result: dict[str, Any] = {
        "id": item_id,
        "kind": kind,
        "title": title,
        "library_id": library_id,
        "parent_id": parent_id,
        "online": bool(online),
        "year": year,
        "index_number": index_number,
        "index_end": index_end,
        "disc_number": disc_number,
        "duration": duration,
        "taken_at": taken_at,
        "added_at": added_at,
        "content_rating": content_rating,
        "parent_title": parent_title,
        "child_count": children if file_id is None else 0,
        "artwork": {
            kind_: f"/api/items/{item_id}/artwork/{kind_}"
            for kind_ in ARTWORK_KINDS
            if kind_ in meta.get("artwork", {})
        },
    }
    if "artist" in meta:
        result["artist"] = meta["artist"]
    return result


def list_items_blocking(
    db: Database, query: ItemQuery, principal: Principal
) -> tuple[list[dict[str, Any]], int]:
    """One page of the items this principal may see, and the total that match."""
    visible, args = principal.item_clause()
    where = ["libraries.online = 1", visible]
    if query.library is not None:
        where.append("items.library_id = ?")
        args.append(query.library)
    if query.parent is not None:
        where.append("parent.id = ?")
        args.append(query.parent)
    elif query.kind is None and query.text is None:
        where.append("items.parent_pk IS NULL")  # a library's top level by default
    if query.kind is not None:
        where.append("items.kind = ?")
        args.append(query.kind)
    if query.year is not None:
        where.append("items.year = ?")
        args.append(query.year)
    if query.genre is not None:
        where.append("items.pk IN (SELECT item_pk FROM item_genres WHERE genre = ?)")
        args.append(query.genre)
    if query.text is not None:
        match = fts_query(query.text)
        if match is None:
            return [], 0
        where.append("items.pk IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
        args.append(match)
    clause = " WHERE " + " AND ".join(where)
    total = db.execute(f"SELECT count(*) {_FROM}{clause}", args).fetchone()[0]
    direction = "DESC" if query.descending else "ASC"
    order = ", ".join(f"{col.strip()} {direction}" for col in SORTS[query.sort].split(","))
    rows = db.execute(
        f"SELECT {_COLUMNS} {_FROM}{clause} ORDER BY {order}, items.sort_title, items.pk "
        "LIMIT ? OFFSET ?",
        [*args, query.limit, query.offset],
    ).fetchall()
    return [item_summary(tuple(row)) for row in rows], int(total)


def get_item_blocking(db: Database, item_id: str, principal: Principal) -> dict[str, Any] | None:
    """Everything about one item: fields, streams, subtitles, children and artwork."""
    visible, args = principal.item_clause()
    row = db.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE items.id = ? AND {visible}", [item_id, *args]
    ).fetchone()
    if row is None:
        return None
    item = item_summary(tuple(row))
    pk, file_id, meta = row[0], row[17], json.loads(row[15])
    item["metadata"] = {k: v for k, v in meta.items() if k != "artwork"}
    counts = db.execute(
        f"SELECT kind, count(*) FROM items WHERE parent_pk = ? AND {visible} GROUP BY kind",
        [pk, *args],
    ).fetchall()
    item["children"] = {kind: count for kind, count in counts}
    if file_id is not None:
        file = db.execute(
            "SELECT root, relpath, size, probe, error FROM files WHERE id = ?", [file_id]
        ).fetchone()
        probe = json.loads(file[3]) if file[3] else {}
        relpath = os.fsdecode(file[1])
        item["file"] = {
            "name": os.path.basename(relpath),
            "size": file[2],
            "container": probe.get("container"),
            "bit_rate": probe.get("bit_rate"),
            "error": file[4],
        }
        item["streams"] = probe.get("streams", [])
        item["subtitles"] = _sidecar_subtitles(db, row[4], file[0], relpath)
    return item


def _sidecar_subtitles(
    db: Database, library_id: int, root: bytes, relpath: str
) -> list[dict[str, Any]]:
    from core.media.sidecars import find_sidecar_subtitles

    folder = os.path.dirname(relpath)
    prefix = os.fsencode(folder + "/" if folder else "")
    rows = db.execute(
        "SELECT relpath FROM files WHERE library_id = ? AND root = ? AND role = 'subtitle' "
        "AND substr(relpath, 1, ?) = ?",
        [library_id, root, len(prefix), prefix],
    ).fetchall()
    siblings = [
        os.path.basename(os.fsdecode(r[0]))
        for r in rows
        if os.path.dirname(os.fsdecode(r[0])) == folder
    ]
    found = find_sidecar_subtitles(os.path.basename(relpath), siblings)
    return [
        {
            "name": s.name,
            "format": s.format,
            "language": s.language,
            "forced": s.forced,
            "sdh": s.sdh,
        }
        for s in found
    ]


def libraries_blocking(db: Database, principal: Principal = EVERYTHING) -> list[dict[str, Any]]:
    """Every library this principal may see, online or not, with its item counts by kind."""
    rows = db.execute(
        "SELECT id, name, kind, online, source_id, created_at, lan_visible FROM libraries "
        "ORDER BY name"
    ).fetchall()
    if principal.libraries is not None:
        rows = [r for r in rows if r[0] in principal.libraries]
    visible, args = principal.item_clause()
    counts: dict[int, dict[str, int]] = {}
    for library_id, kind, count in db.execute(
        f"SELECT library_id, kind, count(*) FROM items WHERE {visible} GROUP BY library_id, kind",
        args,
    ):
        counts.setdefault(library_id, {})[kind] = count
    return [
        {
            "id": r[0],
            "name": r[1],
            "kind": r[2],
            "online": bool(r[3]),
            "source": r[4],
            "created_at": r[5],
            "lan_visible": bool(r[6]),
            "counts": counts.get(r[0], {}),
        }
        for r in rows
    ]


def artwork_ref_blocking(db: Database, item_id: str, kind: str, principal: Principal) -> str | None:
    """The item's artwork of `kind`, else its parent's, up to the top (an episode shows its
    season's or show's poster); None also when the principal may not see the item."""
    visible, args = principal.item_clause()
    row = db.execute(
        f"SELECT pk, parent_pk, metadata FROM items WHERE id = ? AND {visible}", [item_id, *args]
    ).fetchone()
    depth = 0
    while row is not None and depth < 4:
        ref = json.loads(row[2]).get("artwork", {}).get(kind)
        if isinstance(ref, str):
            return ref
        if row[1] is None:
            return None
        row = db.execute(
            "SELECT pk, parent_pk, metadata FROM items WHERE pk = ?", [row[1]]
        ).fetchone()
        depth += 1
    return None


def scan_errors_blocking(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Files that could not be read, with why: shown to the owner, never hidden in a log."""
    rows = db.execute(
        "SELECT libraries.name, files.root, files.relpath, files.error FROM files "
        "JOIN libraries ON libraries.id = files.library_id WHERE files.error IS NOT NULL "
        "ORDER BY files.id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        {
            "library": r[0],
            "path": (os.fsencode(r[1]) + b"/" + os.fsencode(r[2])).decode(
                "utf-8", "backslashreplace"
            ),
            "error": r[3],
        }
        for r in rows
    ]
