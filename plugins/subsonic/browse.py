"""Browsing endpoints: music folders, the artist index, an artist, an album, a song, a directory.

Each is a blocking function over the catalog (run through `catalog.read`) that takes the
principal and the request's parameters and returns the payload `responses.ok` wraps. Music
folders are the music libraries the principal may see; an id the principal may not see is
answered like one that does not exist (error 70), so nothing leaks. The artist list and the
index are kept per catalog version (`cache.py`). It never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from core.plugin_api import Database, Principal
from plugins.subsonic import responses, shapes
from plugins.subsonic.cache import CatalogCache
from plugins.subsonic.responses import MISSING_PARAMETER, NOT_FOUND, Payload, SubsonicError
from plugins.subsonic.routes import Call, Endpoints, Handler

IGNORED_ARTICLES = ("The", "El", "La", "Los", "Las", "Le", "Les")
Params = Mapping[str, str]


def required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise SubsonicError(MISSING_PARAMETER, f"Required parameter is missing: {name}")
    return value


def folder_filter(params: Params) -> tuple[str, list[Any]]:
    """`musicFolderId` as an SQL condition over the library alias `l`."""
    folder = params.get("musicFolderId")
    if folder is None or not folder.isdigit():
        return "1", []
    return "l.id = ?", [int(folder)]


def music_folders_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    rows = db.execute("SELECT id, name FROM libraries WHERE kind = 'music' ORDER BY name")
    folders = [
        {"id": r[0], "name": r[1]}
        for r in rows
        if principal.libraries is None or r[0] in principal.libraries
    ]
    return {"musicFolders": {"musicFolder": folders}}


def index_name(name: str) -> str:
    """The index letter of an artist: first letter after an ignored article, `#` otherwise."""
    words = name.split(maxsplit=1)
    if len(words) == 2 and words[0] in IGNORED_ARTICLES:
        name = words[1]
    first = name[:1].upper()
    return first if first.isalpha() else "#"


def sort_name(name: str) -> str:
    words = name.split(maxsplit=1)
    if len(words) == 2 and words[0] in IGNORED_ARTICLES:
        return words[1].casefold()
    return name.casefold()


def _artist_rows(db: Database, principal: Principal, params: Params) -> list[dict[str, Any]]:
    seen, args = shapes.visible(principal, "ar")
    folder, folder_args = folder_filter(params)
    rows = db.execute(
        "SELECT ar.id, ar.title, (SELECT count(*) FROM items AS al WHERE al.parent_pk = ar.pk "
        "AND al.kind = 'album') FROM libraries AS l CROSS JOIN items AS ar "
        "ON ar.library_id = l.id AND l.kind = 'music' "  # by index, not a walk of every item
        f"WHERE ar.kind = 'artist' AND {seen} AND {folder}",
        [*args, *folder_args],
    ).fetchall()
    artists = [{"id": r[0], "name": r[1], "coverArt": r[0], "albumCount": r[2]} for r in rows]
    return sorted(artists, key=lambda a: (sort_name(a["name"]), a["id"]))


def _indexed(artists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for artist in artists:
        groups.setdefault(index_name(artist["name"]), []).append(artist)
    order = sorted(groups, key=lambda key: (key == "#", key))
    return [{"name": key, "artist": groups[key]} for key in order]


def artists_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    index = _indexed(_artist_rows(db, principal, params))
    return {"artists": {"ignoredArticles": " ".join(IGNORED_ARTICLES), "index": index}}


def indexes_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    artists = [
        {"id": a["id"], "name": a["name"], "albumCount": a["albumCount"]}
        for a in _artist_rows(db, principal, params)
    ]
    seen, args = shapes.visible(principal, "t")
    newest = db.execute(
        f"SELECT max(t.added_at) FROM items AS t JOIN libraries AS l ON l.id = t.library_id "
        f"AND l.kind = 'music' WHERE {seen}",
        args,
    ).fetchone()[0]
    modified = _millis(newest)
    return {
        "indexes": {
            "lastModified": modified,
            "ignoredArticles": " ".join(IGNORED_ARTICLES),
            "index": _indexed(artists),
        }
    }


def _millis(timestamp: str | None) -> int:
    from datetime import UTC, datetime

    if not timestamp:
        return 0
    moment = datetime.fromisoformat(timestamp.removesuffix("Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _kind_of(db: Database, principal: Principal, item_id: str) -> str | None:
    seen, args = shapes.visible(principal, "i")
    row = db.execute(
        "SELECT i.kind FROM items AS i JOIN libraries AS l ON l.id = i.library_id "
        f"AND l.kind = 'music' WHERE i.id = ? AND {seen}",
        [item_id, *args],
    ).fetchone()
    return str(row[0]) if row else None


def artist_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    artist_id = required(params, "id")
    if _kind_of(db, principal, artist_id) != "artist":
        raise SubsonicError(NOT_FOUND, "Artist not found")
    albums = shapes.albums_blocking(
        db, principal, "ar.id = ?", [artist_id], order="al.year, al.sort_title"
    )
    name = db.execute("SELECT title FROM items WHERE id = ?", [artist_id]).fetchone()[0]
    artist = {
        "id": artist_id,
        "name": name,
        "coverArt": artist_id,
        "albumCount": len(albums),
        "album": albums,
    }
    return {"artist": artist}


def album_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    album_id = required(params, "id")
    found = shapes.albums_blocking(db, principal, "al.id = ?", [album_id], limit=1)
    if not found:
        raise SubsonicError(NOT_FOUND, "Album not found")
    songs = shapes.songs_blocking(db, principal, "al.id = ?", [album_id], limit=10_000)
    # songCount and duration count only what this principal may hear
    info = {
        **found[0],
        "songCount": len(songs),
        "duration": sum(s.get("duration", 0) for s in songs),
    }
    return {"album": {**info, "song": songs}}


def song_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    song_id = required(params, "id")
    found = shapes.songs_blocking(db, principal, "t.id = ?", [song_id], limit=1)
    if not found:
        raise SubsonicError(NOT_FOUND, "Song not found")
    return {"song": found[0]}


def directory_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    """A music folder (its artists), an artist (its albums) or an album (its songs)."""
    item_id = required(params, "id")
    if item_id.isdigit() and len(item_id) < 16:  # item ids are 24 hex digits, maybe all 0-9
        folders = music_folders_blocking(db, principal, params)["musicFolders"]["musicFolder"]
        folder = next((f for f in folders if str(f["id"]) == item_id), None)
        if folder is None:
            raise SubsonicError(NOT_FOUND, "Directory not found")
        artists = _artist_rows(db, principal, {"musicFolderId": item_id})
        children = [
            {"id": a["id"], "parent": item_id, "isDir": True, "title": a["name"]} for a in artists
        ]
        return {"directory": {"id": item_id, "name": folder["name"], "child": children}}
    kind = _kind_of(db, principal, item_id)
    if kind == "artist":
        artist = artist_blocking(db, principal, params)["artist"]
        return {"directory": {"id": item_id, "name": artist["name"], "child": artist["album"]}}
    if kind == "album":
        album = album_blocking(db, principal, params)["album"]
        return {
            "directory": {
                "id": item_id,
                "parent": album.get("artistId"),
                "name": album["name"],
                "child": album["song"],
            }
        }
    raise SubsonicError(NOT_FOUND, "Directory not found")


BlockingEndpoint = Callable[[Database, Principal, Params], dict[str, Any]]


def reader(func: BlockingEndpoint) -> Handler:
    """A handler that runs `func` in the catalog's reader threads."""

    async def handle(call: Call) -> Payload:
        return await call.ctx.catalog.read(lambda db: func(db, call.principal, call.params))

    return handle


def cached(cache: CatalogCache, name: str, func: BlockingEndpoint) -> Handler:
    """`reader(func)` for an answer with nothing personal in it, kept per catalog version as
    the body sent (per format)."""

    async def handle(call: Call) -> web.StreamResponse:
        key = (*cache.key(name, call.principal, call.params), call.format)
        body: bytes | None = cache.get(key)
        if body is None:
            version = cache.version
            found = await call.ctx.catalog.read(lambda db: func(db, call.principal, call.params))
            body = responses.ok_bytes(call.format, found)
            cache.put(key, version, body)
        return responses.from_bytes(call.format, body)

    return handle


def register(endpoints: Endpoints) -> None:
    """Add the browsing endpoints to the dispatch table."""
    endpoints.add("getMusicFolders", reader(music_folders_blocking))
    endpoints.add("getIndexes", cached(endpoints.cache, "getIndexes", indexes_blocking))
    endpoints.add("getArtists", cached(endpoints.cache, "getArtists", artists_blocking))
    endpoints.add("getArtist", reader(artist_blocking))
    endpoints.add("getAlbum", reader(album_blocking))
    endpoints.add("getSong", reader(song_blocking))
    endpoints.add("getMusicDirectory", reader(directory_blocking))
