"""Playlists for music apps: the very playlists of the web app (`playlists`, `playlist_items`).

Only their maker sees or changes a playlist (another account gets 70, as if it did not exist),
as in `core.people.playlists_api`. An app sees a playlist's songs it may hear, in order;
anything else in it (a film added in the web app, an item now hidden) is kept when the app
changes the list, and `songIndexToRemove` counts only the songs the app was shown. Songs are
added only when the person may hear them. It never shares a playlist and never reads files.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from core.plugin_api import MAX_ITEMS, MAX_NAME, Database, Principal, now_text
from plugins.subsonic import shapes
from plugins.subsonic.browse import required
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints


def _own_blocking(db: Database, principal: Principal, public_id: str) -> Any:
    row = db.execute(
        "SELECT id, public_id, name, created_at FROM playlists WHERE public_id = ? AND user_id = ?",
        [public_id, principal.user_id],
    ).fetchone()
    if row is None:
        raise SubsonicError(NOT_FOUND, "Playlist not found")
    return row


def _rows_blocking(
    db: Database, principal: Principal, playlist_pk: int
) -> tuple[list[int], list[dict[str, Any] | None]]:
    """Every item key in order, and beside each the song the principal may hear, or None."""
    rows = db.execute(
        "SELECT playlist_items.item_pk, items.id FROM playlist_items "
        "JOIN items ON items.pk = playlist_items.item_pk WHERE playlist_items.playlist_id = ? "
        "ORDER BY playlist_items.position",
        [playlist_pk],
    ).fetchall()
    ids = sorted({r[1] for r in rows})
    songs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = shapes.songs_blocking(db, principal, f"t.id IN ({marks})", chunk, limit=len(chunk))
        songs.update({song["id"]: song for song in found})
    return [int(r[0]) for r in rows], [songs.get(r[1]) for r in rows]


def _summary(row: Any, principal: Principal, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row[1],
        "name": row[2],
        "owner": principal.username,
        "public": False,
        "songCount": len(entries),
        "duration": sum(e.get("duration", 0) for e in entries),
        "created": shapes.created(row[3]),
        "changed": shapes.created(row[3]),
    }


def playlists_blocking(
    db: Database, principal: Principal, params: Mapping[str, str]
) -> dict[str, Any]:
    rows = db.execute(
        "SELECT id, public_id, name, created_at FROM playlists WHERE user_id = ? "
        "ORDER BY name COLLATE NOCASE",
        [principal.user_id],
    ).fetchall()
    found = []
    for row in rows:
        _, songs = _rows_blocking(db, principal, row[0])
        found.append(_summary(row, principal, [s for s in songs if s is not None]))
    return {"playlists": {"playlist": found}}


def playlist_blocking(db: Database, principal: Principal, public_id: str) -> dict[str, Any]:
    row = _own_blocking(db, principal, public_id)
    _, songs = _rows_blocking(db, principal, row[0])
    entries = [s for s in songs if s is not None]
    return {"playlist": {**_summary(row, principal, entries), "entry": entries}}


def _song_pks_blocking(db: Database, principal: Principal, song_ids: list[str]) -> list[int]:
    seen, args = shapes.visible(principal, "t")
    keys: list[int] = []
    for song_id in song_ids:
        row = db.execute(
            f"SELECT t.pk {shapes.SONG_FROM} WHERE t.id = ? AND t.kind = 'track' AND {seen}",
            [song_id, *args],
        ).fetchone()
        if row is None:
            raise SubsonicError(NOT_FOUND, f"Song not found: {song_id}")
        keys.append(int(row[0]))
    return keys


def _write_blocking(db: Database, playlist_pk: int, pks: list[int]) -> None:
    if len(pks) > MAX_ITEMS:
        raise SubsonicError(GENERIC, f"A playlist holds at most {MAX_ITEMS} items.")
    db.execute("DELETE FROM playlist_items WHERE playlist_id = ?", [playlist_pk])
    db.conn.executemany(
        "INSERT INTO playlist_items (playlist_id, position, item_pk) VALUES (?, ?, ?)",
        [(playlist_pk, position, pk) for position, pk in enumerate(pks)],
    )


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise SubsonicError(GENERIC, f"A playlist name is 1 to {MAX_NAME} characters.")
    return name


def create_blocking(
    db: Database, principal: Principal, params: Mapping[str, str], songs: list[str]
) -> dict[str, Any]:
    """A new playlist (`name`), or `playlistId`'s songs replaced (hidden items kept)."""
    keys = _song_pks_blocking(db, principal, songs)
    existing = params.get("playlistId")
    if existing:
        row = _own_blocking(db, principal, existing)
        pks, shown = _rows_blocking(db, principal, row[0])
        kept = [pk for pk, song in zip(pks, shown, strict=True) if song is None]
        _write_blocking(db, row[0], kept + keys)
        if params.get("name"):
            db.execute(
                "UPDATE playlists SET name = ? WHERE id = ?", [_name(params["name"]), row[0]]
            )
        return playlist_blocking(db, principal, existing)
    name = _name(required(params, "name"))
    public_id = secrets.token_hex(8)
    cursor = db.execute(
        "INSERT INTO playlists (public_id, user_id, name, created_at) VALUES (?, ?, ?, ?)",
        [public_id, principal.user_id, name, now_text()],
    )
    _write_blocking(db, int(cursor.lastrowid or 0), keys)
    return playlist_blocking(db, principal, public_id)


def update_blocking(
    db: Database,
    principal: Principal,
    params: Mapping[str, str],
    add: list[str],
    remove: list[str],
) -> None:
    row = _own_blocking(db, principal, required(params, "playlistId"))
    if params.get("name"):
        db.execute("UPDATE playlists SET name = ? WHERE id = ?", [_name(params["name"]), row[0]])
    pks, shown = _rows_blocking(db, principal, row[0])
    song_positions = [i for i, song in enumerate(shown) if song is not None]
    try:
        dropped = {song_positions[int(index)] for index in remove}
    except (ValueError, IndexError):
        raise SubsonicError(GENERIC, "songIndexToRemove is not an index of the playlist") from None
    kept = [pk for i, pk in enumerate(pks) if i not in dropped]
    _write_blocking(db, row[0], kept + _song_pks_blocking(db, principal, add))


def _signed_in(call: Call) -> Principal:
    if call.principal.user_id is None:
        raise SubsonicError(GENERIC, "Only a signed-in person can keep playlists.")
    return call.principal


async def get_playlists(call: Call) -> dict[str, Any]:
    principal = _signed_in(call)
    return await call.ctx.catalog.read(lambda db: playlists_blocking(db, principal, call.params))


async def get_playlist(call: Call) -> dict[str, Any]:
    principal, public_id = _signed_in(call), call.require("id")
    return await call.ctx.catalog.read(lambda db: playlist_blocking(db, principal, public_id))


async def create_playlist(call: Call) -> dict[str, Any]:
    principal, songs = _signed_in(call), call.all("songId")
    return await call.ctx.catalog.write(
        lambda db: create_blocking(db, principal, call.params, songs)
    )


async def update_playlist(call: Call) -> None:
    principal = _signed_in(call)
    add, remove = call.all("songIdToAdd"), call.all("songIndexToRemove")
    await call.ctx.catalog.write(
        lambda db: update_blocking(db, principal, call.params, add, remove)
    )


async def delete_playlist(call: Call) -> None:
    principal, public_id = _signed_in(call), call.require("id")

    def delete(db: Database) -> None:
        row = _own_blocking(db, principal, public_id)
        db.execute("DELETE FROM playlists WHERE id = ?", [row[0]])

    await call.ctx.catalog.write(delete)


def register(endpoints: Endpoints) -> None:
    """Add the playlist endpoints to the dispatch table."""
    endpoints.add("getPlaylists", get_playlists)
    endpoints.add("getPlaylist", get_playlist)
    endpoints.add("createPlaylist", create_playlist, writes=True)
    endpoints.add("updatePlaylist", update_playlist, writes=True)
    endpoints.add("deletePlaylist", delete_playlist, writes=True)
