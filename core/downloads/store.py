"""The downloads table: who holds which item on which device, and what that device may keep.

Every function runs on a catalog thread (`catalog.read` / `catalog.write`). What a person may
download is decided here by `Principal.item_clause`, the same rule as browsing and playback, so
a library not granted or a film above a rating limit is "no such item" at download time and
"delete" at the next check. It never touches files: the copies on disk are `copies.py`'s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from core.catalog.database import Database
from core.people.access import Principal
from core.people.accounts import now_text

PLAYABLE_KINDS = ("movie", "episode", "video", "track")
VIDEO_KINDS = frozenset({"movie", "episode", "video"})
MAX_ITEMS = 500  # one request may ask for a whole season, album or playlist, not a library


@dataclass(frozen=True, slots=True)
class Wanted:
    """One item a person may download: its ids and what the app shows about it."""

    pk: int
    id: str
    kind: str
    title: str
    duration: float | None
    size: int | None
    parent_title: str | None


@dataclass(frozen=True, slots=True)
class Held:
    """One row of the downloads table, as its device sees it."""

    public_id: str
    item_id: str
    item_pk: int | None
    quality: str
    created_at: str
    stored_at: str | None


_WANTED = (
    "SELECT items.pk, items.id, items.kind, items.title, items.duration, files.size, "
    "(SELECT p.title FROM items AS p WHERE p.pk = items.parent_pk) "
    "FROM items JOIN files ON files.id = items.file_id"
)


def _wanted(row: Any) -> Wanted:
    return Wanted(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5], row[6])


def wanted_items_blocking(db: Database, item_id: str, principal: Principal) -> list[Wanted] | None:
    """The playable items behind an item this person may see: itself, or a season's episodes,
    a show's, an album's tracks (in order). None when the item is not theirs to see."""
    visible, args = principal.item_clause()
    parent = db.execute(
        f"SELECT pk, kind FROM items WHERE id = ? AND {visible}", [item_id, *args]
    ).fetchone()
    if parent is None:
        return None
    kinds = ",".join("?" * len(PLAYABLE_KINDS))
    rows = db.execute(
        f"{_WANTED} WHERE items.kind IN ({kinds}) AND {visible} AND (items.pk = ? "
        "OR items.parent_pk = ? OR items.parent_pk IN (SELECT pk FROM items AS s "
        "WHERE s.parent_pk = ?)) ORDER BY (SELECT s.index_number FROM items AS s "
        "WHERE s.pk = items.parent_pk), items.disc_number, items.index_number, items.sort_title "
        f"LIMIT {MAX_ITEMS}",
        [*PLAYABLE_KINDS, *args, parent[0], parent[0], parent[0]],
    ).fetchall()
    return [_wanted(row) for row in rows]


def playlist_items_blocking(
    db: Database, playlist_id: str, principal: Principal
) -> list[Wanted] | None:
    """The playable items of this person's playlist that they may still see, in order."""
    owned = db.execute(
        "SELECT id FROM playlists WHERE public_id = ? AND user_id = ?",
        [playlist_id, principal.user_id],
    ).fetchone()
    if owned is None:
        return None
    visible, args = principal.item_clause()
    rows = db.execute(
        f"{_WANTED} JOIN playlist_items ON playlist_items.item_pk = items.pk "
        f"WHERE playlist_items.playlist_id = ? AND {visible} "
        f"ORDER BY playlist_items.position LIMIT {MAX_ITEMS}",
        [owned[0], *args],
    ).fetchall()
    return [_wanted(row) for row in rows]


def hold_blocking(
    db: Database, principal: Principal, items: list[Wanted], quality: str
) -> list[str]:
    """Record that this device holds these items in this version; answers the download ids
    (the same ids again for what it already held)."""
    ids = []
    for item in items:
        row = db.execute(
            "SELECT public_id FROM downloads WHERE session_id = ? AND item_pk = ? AND quality = ?",
            [principal.session_id, item.pk, quality],
        ).fetchone()
        if row is None:
            row = (secrets.token_urlsafe(9),)
            db.execute(
                "INSERT INTO downloads (public_id, user_id, session_id, item_pk, item_id, "
                "quality, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [row[0], principal.user_id, principal.session_id, item.pk, item.id, quality,
                 now_text()],
            )  # fmt: skip
        ids.append(str(row[0]))
    return ids


def held_blocking(db: Database, principal: Principal, public_id: str | None = None) -> list[Held]:
    """This device's downloads (or the one named), oldest first."""
    query = (
        "SELECT public_id, item_id, item_pk, quality, created_at, stored_at FROM downloads "
        "WHERE session_id = ? AND user_id = ?"
    )
    args: list[Any] = [principal.session_id, principal.user_id]
    if public_id is not None:
        query, args = query + " AND public_id = ?", [*args, public_id]
    rows = db.execute(query + " ORDER BY id", args).fetchall()
    return [Held(str(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), r[5]) for r in rows]


def visible_item_blocking(db: Database, held: Held, principal: Principal) -> Wanted | None:
    """The item of a download if this person may still see it (grants, rating limit, still
    in the catalog with its file), else None."""
    if held.item_pk is None:
        return None
    visible, args = principal.item_clause()
    row = db.execute(
        f"{_WANTED} WHERE items.pk = ? AND {visible}", [held.item_pk, *args]
    ).fetchone()
    return None if row is None else _wanted(row)


def release_blocking(db: Database, principal: Principal, public_ids: list[str]) -> int:
    """Forget downloads of this device (deleted on it, or its access ended)."""
    removed = 0
    for public_id in public_ids:
        removed += db.execute(
            "DELETE FROM downloads WHERE public_id = ? AND session_id = ? AND user_id = ?",
            [public_id, principal.session_id, principal.user_id],
        ).rowcount
    return removed


def mark_stored_blocking(db: Database, principal: Principal, public_id: str) -> bool:
    """The device has the whole file: the server's copy is no longer waited for by it."""
    return bool(
        db.execute(
            "UPDATE downloads SET stored_at = COALESCE(stored_at, ?) WHERE public_id = ? "
            "AND session_id = ? AND user_id = ?",
            [now_text(), public_id, principal.session_id, principal.user_id],
        ).rowcount
    )


def copies_wanted_blocking(db: Database, since: str) -> set[tuple[str, str]]:
    """(item id, quality) of made copies someone still waits for: asked for since `since`
    and not yet stored on that device."""
    rows = db.execute(
        "SELECT DISTINCT item_id, quality FROM downloads WHERE quality != 'original' "
        "AND stored_at IS NULL AND created_at >= ? AND item_pk IS NOT NULL",
        [since],
    ).fetchall()
    return {(str(r[0]), str(r[1])) for r in rows}
