"""What the stills job (stills.py) reads from and writes to the catalog.

Reads the videos of a library with their files, and the shows, seasons, episodes, artists and
albums whose pictures depend on each other; writes `still:` references into items' artwork,
only where the item still has no artwork of its own (a scan may have found some meanwhile).
Every function runs in the catalog's threads; none touches a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.catalog.database import Database
from core.library.fields import STILL_PREFIX

VERSION = "1"  # part of every still's name: bump it when frames.py picks differently
OWN_KINDS = ("poster", "thumb", "fanart")
"""Any of these that is not a still means the item has artwork people chose: left alone."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """A video item as the job needs it."""

    pk: int
    kind: str
    title: str
    duration: float | None
    art: dict[str, Any]
    path: str
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        identity = b"\0".join(
            [VERSION.encode(), os.fsencode(self.path), b"%d" % self.size, b"%d" % self.mtime_ns]
        )
        return hashlib.sha256(identity).hexdigest()[:32]

    def wanted(self) -> dict[str, str]:
        refs = {"thumb": f"{STILL_PREFIX}{self.name}.jpg"}
        if self.kind == "movie":
            refs["poster"] = f"{STILL_PREFIX}{self.name}-poster.jpg"
        return refs


def lacks_artwork(art: dict[str, Any]) -> bool:
    """No poster, thumb or fanart but the server's own stills."""
    return not any(
        isinstance(art.get(kind), str) and not art[kind].startswith(STILL_PREFIX)
        for kind in OWN_KINDS
    )


def writer(
    updates: list[tuple[int, dict[str, str]]],
) -> Callable[[Database], int]:
    return lambda db: set_stills_blocking(db, updates)


# Videos with no poster, thumb or fanart but stills: the only ones the job looks at.
_LACKING = " AND ".join(
    f"coalesce(json_extract(items.metadata, '$.artwork.{kind}'), 'still:') LIKE 'still:%'"
    for kind in OWN_KINDS
)
_LEAVES = (
    "FROM items JOIN files ON files.id = items.file_id WHERE items.library_id = ? "
    f"AND items.kind IN ('movie', 'episode', 'video') AND {_LACKING}"
)


def library_blocking(db: Database, library_id: int) -> tuple[str, int]:
    """The library's name and how many of its videos have no artwork of their own."""
    row = db.execute("SELECT name FROM libraries WHERE id = ?", [library_id]).fetchone()
    count = db.execute(f"SELECT count(*) {_LEAVES}", [library_id]).fetchone()[0]
    return (row[0] if row else str(library_id)), int(count)


def leaves_blocking(db: Database, library_id: int, before: int | None, limit: int) -> list[Leaf]:
    """One page of those videos, newest (highest pk) first, below `before`: a library of 100k
    is never held in memory at once."""
    rows = db.execute(
        "SELECT items.pk, items.kind, items.title, items.duration, "
        "json_extract(items.metadata, '$.artwork'), files.root, files.relpath, files.size, "
        f"files.mtime_ns {_LEAVES} AND items.pk < ? ORDER BY items.pk DESC LIMIT ?",
        [library_id, before if before is not None else 1 << 62, limit],
    ).fetchall()
    return [
        Leaf(
            pk,
            kind,
            title,
            duration,
            json.loads(art) if art else {},
            os.path.join(os.fsdecode(root), os.fsdecode(relpath)),
            size,
            mtime_ns,
        )
        for pk, kind, title, duration, art, root, relpath, size, mtime_ns in rows
    ]


def set_stills_blocking(db: Database, updates: list[tuple[int, dict[str, str]]]) -> int:
    """Put the stills into items that still lack artwork of their own (a scan may have found
    some meanwhile); stale stills go. Returns how many items changed."""
    changed = 0
    for pk, wanted in updates:
        row = db.execute("SELECT metadata FROM items WHERE pk = ?", [pk]).fetchone()
        if row is None:
            continue
        meta = json.loads(row[0])
        art = meta.get("artwork", {})
        if not isinstance(art, dict) or not lacks_artwork(art):
            continue
        kept = {k: v for k, v in art.items() if not str(v).startswith(STILL_PREFIX)}
        new = {**kept, **wanted}
        if new == art:
            continue
        meta["artwork"] = new
        db.execute(
            "UPDATE items SET metadata = ? WHERE pk = ?", [json.dumps(meta, sort_keys=True), pk]
        )
        changed += 1
    return changed


def container_plans_blocking(db: Database, library_id: int) -> list[tuple[int, str, str]]:
    """(pk, kind, source) for each show, season or artist without artwork of its own whose
    picture would change: an episode's still reference, or an album's artwork reference."""
    rows = db.execute(
        "SELECT pk, parent_pk, kind, index_number, disc_number, year, sort_title, "
        "json_extract(metadata, '$.artwork') FROM items WHERE library_id = ? "
        "AND kind IN ('show', 'season', 'episode', 'artist', 'album')",
        [library_id],
    ).fetchall()
    art = {row[0]: json.loads(row[7]) if row[7] else {} for row in rows}
    children: dict[int, list[Any]] = {}
    for row in rows:
        if row[1] is not None:
            children.setdefault(row[1], []).append(row)

    def order(row: Any) -> tuple[Any, ...]:  # specials (season 0) after the real seasons
        index = row[3]
        return (index == 0, index is None, index or 0, row[4] or 0, row[5] or 0, row[6])

    def first_still(pk: int, depth: int = 0) -> str | None:
        for child in sorted(children.get(pk, []), key=order):
            if child[2] == "episode":
                ref = art[child[0]].get("thumb")
                if isinstance(ref, str) and ref.startswith(STILL_PREFIX):
                    return ref
            elif child[2] == "season" and depth == 0:
                found = first_still(child[0], 1)
                if found is not None:
                    return found
        return None

    def first_cover(pk: int) -> str | None:
        for child in sorted(children.get(pk, []), key=lambda r: (r[5] or 9999, r[6])):
            own = art[child[0]]
            for kind in ("thumb", "poster"):
                ref = own.get(kind)
                if isinstance(ref, str) and not ref.startswith(STILL_PREFIX):
                    return ref
        return None

    plans = []
    for pk, _parent, kind, *_rest in rows:
        if kind not in ("show", "season", "artist") or not lacks_artwork(art[pk]):
            continue
        source = first_cover(pk) if kind == "artist" else first_still(pk)
        if source is not None and (kind == "artist" or art[pk].get("thumb") != source):
            plans.append((pk, kind, source))
    return plans


def referenced_blocking(db: Database) -> set[str]:
    """The stills items refer to, by their 32-letter key: an episode's poster crop counts as
    used with its still (its show may take it, and the two are made as a pair)."""
    names = set()
    rows = db.execute(
        "SELECT json_extract(metadata, '$.artwork') FROM items WHERE metadata LIKE '%\"still:%'"
    )
    for (text,) in rows:
        for ref in (json.loads(text) if text else {}).values():
            if isinstance(ref, str) and ref.startswith(STILL_PREFIX):
                names.add(ref.removeprefix(STILL_PREFIX)[:32])
    return names
