"""Catalog rows in the Subsonic shapes: a song (`Child`), an album (`AlbumID3`), an artist.

Music in the catalog is artist -> album -> track items (the album artist, "Various Artists" for
a compilation), so a song's album and artist are its parent and grandparent; ids are the
catalog's ids. Every query here is limited to music libraries and to what the principal may
see (`Principal.item_clause`). It only reads, and never touches a file.
"""

from __future__ import annotations

import json
import mimetypes
import os
from typing import Any

from core.plugin_api import Database, Principal

# a song with its album (parent) and album artist (grandparent) and its file
SONG_COLUMNS = (
    "t.id, t.title, t.index_number, t.disc_number, t.year, t.duration, t.added_at, t.metadata, "
    "al.id, al.title, ar.id, ar.title, f.size, f.relpath, f.probe, "
    "(SELECT min(genre) FROM item_genres WHERE item_pk = t.pk)"
)
SONG_FROM = (
    "FROM items AS t JOIN libraries AS l ON l.id = t.library_id AND l.kind = 'music' "
    "LEFT JOIN items AS al ON al.pk = t.parent_pk "
    "LEFT JOIN items AS ar ON ar.pk = al.parent_pk "
    "LEFT JOIN files AS f ON f.id = t.file_id"
)
# for choosing a page among every song of the music libraries, walked by index (over t, l)
SONG_PAGE_FROM = (
    "FROM libraries AS l CROSS JOIN items AS t ON t.library_id = l.id AND l.kind = 'music'"
)
SONG_ORDER = "al.sort_title, t.disc_number, t.index_number, t.sort_title"
ALBUM_COLUMNS = (
    "al.id, al.title, al.year, al.added_at, ar.id, ar.title, "
    "(SELECT count(*) FROM items AS c WHERE c.parent_pk = al.pk), "
    "(SELECT coalesce(sum(c.duration), 0) FROM items AS c WHERE c.parent_pk = al.pk), "
    "(SELECT min(g.genre) FROM items AS c JOIN item_genres AS g ON g.item_pk = c.pk "
    "WHERE c.parent_pk = al.pk)"
)
ALBUM_FROM = (
    "FROM items AS al JOIN libraries AS l ON l.id = al.library_id AND l.kind = 'music' "
    "LEFT JOIN items AS ar ON ar.pk = al.parent_pk"
)
# the same, for choosing a page: CROSS JOIN keeps the libraries outside, so SQLite walks each
# music library's albums by index, not every item in added_at order (most are tracks)
ALBUM_PAGE_FROM = (
    "FROM libraries AS l CROSS JOIN items AS al ON al.library_id = l.id AND l.kind = 'music' "
    "LEFT JOIN items AS ar ON ar.pk = al.parent_pk"
)


def visible(principal: Principal, table: str) -> tuple[str, list[Any]]:
    """The principal's item clause for `table`, and only online libraries."""
    clause, args = principal.item_clause(table)
    return f"{clause} AND l.online = 1", args


def created(added_at: str | None) -> str | None:
    """The catalog's naive UTC timestamp as the spec's xs:dateTime."""
    if not added_at:
        return None
    return added_at if added_at.endswith("Z") else added_at.split("+")[0] + "Z"


def song(row: tuple[Any, ...]) -> dict[str, Any]:
    """A track row (SONG_COLUMNS) as the spec's Child."""
    (
        item_id,
        title,
        track,
        disc,
        year,
        duration,
        added_at,
        metadata,
        album_id,
        album,
        artist_id,
        album_artist,
        size,
        relpath,
        probe,
        genre,
        starred,
        rating,
    ) = row
    meta = json.loads(metadata or "{}")
    path = os.fsdecode(relpath) if relpath is not None else ""
    suffix = os.path.splitext(path)[1].lstrip(".").casefold()
    facts = json.loads(probe) if probe else {}
    bit_rate = facts.get("bit_rate")
    result: dict[str, Any] = {
        "id": item_id,
        "parent": album_id,
        "isDir": False,
        "title": title,
        "album": album,
        "artist": meta.get("artist") or album_artist,
        "track": track,
        "discNumber": disc,
        "year": year,
        "genre": genre,
        "coverArt": item_id,
        "size": size,
        "contentType": content_type(suffix),
        "suffix": suffix,
        "duration": round(duration) if duration is not None else None,
        "bitRate": round(bit_rate / 1000) if isinstance(bit_rate, (int, float)) else None,
        "path": path,
        "created": created(added_at),
        "albumId": album_id,
        "artistId": artist_id,
        "type": "music",
        "mediaType": "song",
        "isVideo": False,
        "starred": created(starred),
        "userRating": rating // 2 if rating else None,
    }
    return {key: value for key, value in result.items() if value is not None}


def content_type(suffix: str) -> str:
    """The MIME type apps expect for a file suffix (mimetypes lacks some audio ones)."""
    known = {"flac": "audio/flac", "opus": "audio/ogg", "m4a": "audio/mp4", "mp3": "audio/mpeg"}
    return known.get(suffix) or mimetypes.types_map.get("." + suffix, "application/octet-stream")


def album(row: tuple[Any, ...]) -> dict[str, Any]:
    """An album row (ALBUM_COLUMNS) as the spec's AlbumID3."""
    album_id, title, year, added_at, artist_id, artist, count, duration, genre, starred, rating = (
        row
    )
    result: dict[str, Any] = {
        "id": album_id,
        "name": title,
        "title": title,
        "album": title,
        "artist": artist,
        "artistId": artist_id,
        "parent": artist_id,
        "isDir": True,
        "coverArt": album_id,
        "songCount": count,
        "duration": round(duration or 0),
        "created": created(added_at),
        "year": year,
        "genre": genre,
        "starred": created(starred),
        "userRating": rating // 2 if rating else None,
    }
    return {key: value for key, value in result.items() if value is not None}


def personal(principal: Principal, table: str) -> str:
    """The person's star time and rating of `table`'s item, as two more columns (the user id
    is the catalog's int, so it is safe inline)."""
    user = int(principal.user_id) if principal.user_id is not None else -1
    return (
        f", (SELECT starred_at FROM stars WHERE user_id = {user} AND item_pk = {table}.pk), "
        f"(SELECT rating FROM ratings WHERE user_id = {user} AND item_pk = {table}.pk)"
    )


def marks_blocking(db: Database, principal: Principal) -> dict[str, tuple[str | None, int | None]]:
    """The person's own star time and rating per item id (a person has few of either)."""
    if principal.user_id is None:
        return {}
    user = [principal.user_id]
    marks: dict[str, tuple[str | None, int | None]] = {}
    for item_id, starred in db.execute(
        "SELECT items.id, stars.starred_at FROM stars JOIN items ON items.pk = stars.item_pk "
        "WHERE stars.user_id = ?",
        user,
    ):
        marks[item_id] = (starred, None)
    for item_id, rating in db.execute(
        "SELECT items.id, ratings.rating FROM ratings JOIN items ON items.pk = ratings.item_pk "
        "WHERE ratings.user_id = ?",
        user,
    ):
        marks[item_id] = (marks.get(item_id, (None, None))[0], rating)
    return marks


def with_marks(
    entry: dict[str, Any], marks: dict[str, tuple[str | None, int | None]]
) -> dict[str, Any]:
    """`entry` (a song or an album, maybe someone else's view of it) with this person's own
    `starred` and `userRating` only."""
    mine = {k: v for k, v in entry.items() if k not in ("starred", "userRating")}
    starred, rating = marks.get(str(entry["id"]), (None, None))
    if starred:
        mine["starred"] = created(starred)
    if rating:
        mine["userRating"] = rating // 2
    return mine


def songs_blocking(
    db: Database,
    principal: Principal,
    where: str = "1",
    args: list[Any] | None = None,
    order: str = SONG_ORDER,
    limit: int = 500,
    offset: int = 0,
    every_song: bool = False,
) -> list[dict[str, Any]]:
    """Songs the principal may see that match `where` (over t, al, ar, f, l). `every_song`:
    `where` and `order` are no narrow lookup and use only t and l, so each music library's
    songs are walked by index, without the joins."""
    seen, seen_args = visible(principal, "t")
    pks = _page(
        db,
        f"SELECT t.pk {SONG_PAGE_FROM if every_song else SONG_FROM} "
        f"WHERE t.kind = 'track' AND {seen} AND ({where}) "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        [*seen_args, *(args or []), limit, offset],
    )
    return songs_of_blocking(db, principal, pks)


def songs_of_blocking(db: Database, principal: Principal, pks: list[int]) -> list[dict[str, Any]]:
    """Songs by pk, in this order; the caller chose them among what the principal may see."""
    select = f"SELECT t.pk, {SONG_COLUMNS}{personal(principal, 't')} {SONG_FROM}"
    return [song(row) for row in _rows_of(db, select, "t", pks)]


def albums_of_blocking(db: Database, principal: Principal, pks: list[int]) -> list[dict[str, Any]]:
    """Albums by pk, in this order; the caller chose them among what the principal may see."""
    select = f"SELECT al.pk, {ALBUM_COLUMNS}{personal(principal, 'al')} {ALBUM_FROM}"
    return [album(row) for row in _rows_of(db, select, "al", pks)]


def _page(db: Database, sql: str, args: list[Any]) -> list[int]:
    """The pks of one page, in order. A page is chosen before any column is shaped: sorting
    the shaped rows made SQLite compute every match's subqueries and JSON first (1 s for the
    newest 500 of 6,000 albums, which all share one scan's added_at)."""
    return [int(row[0]) for row in db.execute(sql, args).fetchall()]


def _rows_of(db: Database, select: str, table: str, pks: list[int]) -> list[tuple[Any, ...]]:
    """`select` (its first column the pk) for these pks, in their order, without the pk."""
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"{select} WHERE {table}.pk IN ({marks})", chunk).fetchall():
            found[int(row[0])] = tuple(row)[1:]
    return [found[pk] for pk in pks if pk in found]


def albums_blocking(
    db: Database,
    principal: Principal,
    where: str = "1",
    args: list[Any] | None = None,
    order: str = "al.sort_title",
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Albums the principal may see that match `where` (over al, ar, l)."""
    seen, seen_args = visible(principal, "al")
    pks = _page(
        db,
        f"SELECT al.pk {ALBUM_PAGE_FROM} WHERE al.kind = 'album' AND {seen} AND ({where}) "
        f"ORDER BY {order}, al.pk LIMIT ? OFFSET ?",
        [*seen_args, *(args or []), limit, offset],
    )
    return albums_of_blocking(db, principal, pks)
