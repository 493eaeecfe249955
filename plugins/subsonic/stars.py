"""Stars (favourites): `star`, `unstar`, `getStarred` and `getStarred2`, kept per person in the
catalog's `stars` table, so they survive a new phone and are the same in every app.

Only items the person may see can be starred, and only those are listed back: a star on a
song in a library since withdrawn stays stored but invisible. An unknown or hidden id is "not
found" (70) and nothing changes. The "starred" album list reads the same rows (lists.py).
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import Database, Principal, stamp
from plugins.subsonic import shapes
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints


def user_of(principal: Principal) -> int:
    if principal.user_id is None:
        raise SubsonicError(GENERIC, "Only a signed-in person can star things.")
    return principal.user_id


def starred_clause(principal: Principal, table: str) -> str:
    """SQL true for items the person starred (the user id is the catalog's int: safe inline)."""
    user = int(principal.user_id) if principal.user_id is not None else -1
    return f"{table}.pk IN (SELECT item_pk FROM stars WHERE user_id = {user})"


def _item_pks_blocking(db: Database, principal: Principal, ids: list[str]) -> list[int]:
    seen, args = shapes.visible(principal, "i")
    keys = []
    for item_id in ids:
        row = db.execute(
            "SELECT i.pk FROM items AS i JOIN libraries AS l ON l.id = i.library_id "
            f"AND l.kind = 'music' WHERE i.id = ? AND i.kind IN ('track', 'album', 'artist') "
            f"AND {seen}",
            [item_id, *args],
        ).fetchone()
        if row is None:
            raise SubsonicError(NOT_FOUND, f"Item not found: {item_id}")
        keys.append(int(row[0]))
    return keys


def _ids(call: Call) -> list[str]:
    ids = call.all("id") + call.all("albumId") + call.all("artistId")
    if not ids:
        call.require("id")
    return ids


async def star(call: Call) -> None:
    user, ids = user_of(call.principal), _ids(call)

    def write(db: Database) -> None:
        now = stamp()
        for pk in _item_pks_blocking(db, call.principal, ids):
            db.execute(
                "INSERT OR IGNORE INTO stars (user_id, item_pk, starred_at) VALUES (?, ?, ?)",
                [user, pk, now],
            )

    await call.ctx.catalog.write(write)


async def unstar(call: Call) -> None:
    user, ids = user_of(call.principal), _ids(call)

    def write(db: Database) -> None:
        for pk in _item_pks_blocking(db, call.principal, ids):
            db.execute("DELETE FROM stars WHERE user_id = ? AND item_pk = ?", [user, pk])

    await call.ctx.catalog.write(write)


def starred_blocking(db: Database, principal: Principal, element: str) -> dict[str, Any]:
    user_of(principal)
    seen, args = shapes.visible(principal, "ar")
    rows = db.execute(
        "SELECT ar.id, ar.title, (SELECT count(*) FROM items AS al WHERE al.parent_pk = ar.pk) "
        "FROM items AS ar JOIN libraries AS l ON l.id = ar.library_id AND l.kind = 'music' "
        f"WHERE ar.kind = 'artist' AND {seen} AND {starred_clause(principal, 'ar')} "
        "ORDER BY ar.sort_title",
        args,
    ).fetchall()
    artists = [{"id": r[0], "name": r[1], "coverArt": r[0], "albumCount": r[2]} for r in rows]
    albums = shapes.albums_blocking(db, principal, starred_clause(principal, "al"))
    songs = shapes.songs_blocking(db, principal, starred_clause(principal, "t"), limit=10_000)
    return {element: {"artist": artists, "album": albums, "song": songs}}


async def get_starred(call: Call) -> dict[str, Any]:
    return await call.ctx.catalog.read(lambda db: starred_blocking(db, call.principal, "starred"))


async def get_starred2(call: Call) -> dict[str, Any]:
    return await call.ctx.catalog.read(lambda db: starred_blocking(db, call.principal, "starred2"))


def register(endpoints: Endpoints) -> None:
    """Add the star endpoints to the dispatch table."""
    endpoints.add("star", star, writes=True)
    endpoints.add("unstar", unstar, writes=True)
    endpoints.add("getStarred", get_starred)
    endpoints.add("getStarred2", get_starred2)
