"""Playlists: a person's own ordered lists of things to play, made in the web app or any client.

Only the person who made a playlist can see or change it — another account, even an owner,
gets 404, as if it did not exist. Items are shown through `Principal.item_clause`, so a film
above a profile's rating limit or in a library it was not granted never appears, and cannot be
added. Writing the list replaces it whole, in the order given (duplicates allowed). It never
shares a playlist and never reads the files.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog.database import Database
from core.http.bodies import json_body, text_field
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.library import queries
from core.people.access import Principal
from core.people.accounts import now_text
from core.people.middleware import principal_of

if TYPE_CHECKING:
    from core.catalog import Catalog

MAX_ITEMS = 5000
MAX_NAME = 200
# The browsing API's summary columns, so a playlist row looks exactly like a grid card.
_SUMMARY = f"SELECT {queries._COLUMNS} {queries._FROM}"


def _name(body: dict[str, Any]) -> str:
    name = str(text_field(body, "name")).strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ApiError(400, f"A playlist name is 1 to {MAX_NAME} characters.", "bad_body")
    return name


def _owned_blocking(db: Database, public_id: str, user_id: int | None) -> Any:
    """(id, public_id, name, created_at) of this person's playlist, else None."""
    return db.execute(
        "SELECT id, public_id, name, created_at FROM playlists WHERE public_id = ? AND user_id = ?",
        [public_id, user_id],
    ).fetchone()


def playlist_blocking(db: Database, public_id: str, principal: Principal) -> dict[str, Any] | None:
    """One playlist with the items this person may see, in order; None when not theirs."""
    row = _owned_blocking(db, public_id, principal.user_id)
    if row is None:
        return None
    visible, args = principal.item_clause()
    items = db.execute(
        f"{_SUMMARY} JOIN playlist_items ON playlist_items.item_pk = items.pk "
        f"WHERE playlist_items.playlist_id = ? AND {visible} ORDER BY playlist_items.position",
        [row[0], *args],
    ).fetchall()
    return {
        "id": row[1],
        "name": row[2],
        "created_at": row[3],
        "items": [queries.item_summary(tuple(item)) for item in items],
    }


def playlists_blocking(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """This person's playlists, by name, with how many visible items each holds."""
    visible, args = principal.item_clause()
    rows = db.execute(
        "SELECT playlists.public_id, playlists.name, playlists.created_at, "
        "(SELECT count(*) FROM playlist_items JOIN items ON items.pk = playlist_items.item_pk "
        f"WHERE playlist_items.playlist_id = playlists.id AND {visible}) "
        "FROM playlists WHERE playlists.user_id = ? ORDER BY playlists.name COLLATE NOCASE",
        [*args, principal.user_id],
    ).fetchall()
    return [{"id": r[0], "name": r[1], "created_at": r[2], "count": r[3]} for r in rows]


def _item_pks_blocking(db: Database, item_ids: list[str], principal: Principal) -> list[int]:
    """The catalog keys of these items, in order; a 400 when one is unknown or hidden."""
    found: dict[str, int] = {}
    unique = sorted(set(item_ids))
    visible, args = principal.item_clause()
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for pk, item_id in db.execute(
            f"SELECT items.pk, items.id FROM items WHERE items.id IN ({marks}) "
            f"AND items.file_id IS NOT NULL AND {visible}",
            [*chunk, *args],
        ):
            found[item_id] = pk
    missing = [i for i in unique if i not in found]
    if missing:
        raise ApiError(
            400, f"{len(missing)} item(s) cannot be added: unknown or not playable.", "bad_items"
        )
    return [found[i] for i in item_ids]


def _item_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "'items' is a list of item ids.", "bad_body")
    if len(value) > MAX_ITEMS:
        raise ApiError(400, f"A playlist holds at most {MAX_ITEMS} items.", "bad_body")
    return value


def _replace_items_blocking(
    db: Database, playlist_pk: int, item_ids: list[str], principal: Principal
) -> None:
    pks = _item_pks_blocking(db, item_ids, principal)
    db.execute("DELETE FROM playlist_items WHERE playlist_id = ?", [playlist_pk])
    db.conn.executemany(
        "INSERT INTO playlist_items (playlist_id, position, item_pk) VALUES (?, ?, ?)",
        [(playlist_pk, position, pk) for position, pk in enumerate(pks)],
    )


class PlaylistsApi:
    """Handlers over the catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def _answer(
        self, public_id: str, principal: Principal, status: int = 200
    ) -> web.Response:
        playlist = await self._catalog.read(lambda db: playlist_blocking(db, public_id, principal))
        if playlist is None:
            raise ApiError(404, "No such playlist.", "playlist_not_found")
        return web.json_response(playlist, status=status)

    async def _own(self, request: web.Request) -> tuple[Principal, int, str]:
        principal = principal_of(request)
        public_id = request.match_info["id"]
        row = await self._catalog.read(lambda db: _owned_blocking(db, public_id, principal.user_id))
        if row is None:
            raise ApiError(404, "No such playlist.", "playlist_not_found")
        return principal, int(row[0]), public_id

    async def get_playlists(self, request: web.Request) -> web.Response:
        """Your playlists, with item counts."""
        principal = principal_of(request)
        rows = await self._catalog.read(lambda db: playlists_blocking(db, principal))
        return web.json_response({"playlists": rows})

    async def post_playlist(self, request: web.Request) -> web.Response:
        """Make a playlist, optionally with its first items."""
        principal = principal_of(request)
        if principal.user_id is None:
            raise ApiError(403, "Only a signed-in person can keep playlists.", "forbidden")
        body = await json_body(request)
        name = _name(body)
        item_ids = _item_ids(body.get("items", []))
        public_id = secrets.token_hex(8)

        def create(db: Database) -> None:
            cursor = db.execute(
                "INSERT INTO playlists (public_id, user_id, name, created_at) VALUES (?, ?, ?, ?)",
                [public_id, principal.user_id, name, now_text()],
            )
            _replace_items_blocking(db, int(cursor.lastrowid or 0), item_ids, principal)

        await self._catalog.write(create)
        return await self._answer(public_id, principal, 201)

    async def get_playlist(self, request: web.Request) -> web.Response:
        """One of your playlists with its items in order."""
        return await self._answer(request.match_info["id"], principal_of(request))

    async def patch_playlist(self, request: web.Request) -> web.Response:
        """Rename a playlist."""
        principal, pk, public_id = await self._own(request)
        name = _name(await json_body(request))
        await self._catalog.write(
            lambda db: db.execute("UPDATE playlists SET name = ? WHERE id = ?", [name, pk])
        )
        return await self._answer(public_id, principal)

    async def delete_playlist(self, request: web.Request) -> web.Response:
        """Delete a playlist (never the items in it)."""
        _principal, pk, public_id = await self._own(request)
        await self._catalog.write(lambda db: db.execute("DELETE FROM playlists WHERE id = ?", [pk]))
        return web.json_response({"deleted": public_id})

    async def put_items(self, request: web.Request) -> web.Response:
        """Replace the items, in this order: `{"items": [id, …]}` (or the bare list)."""
        principal, pk, public_id = await self._own(request)
        try:
            body = await request.json()
        except ValueError as err:
            raise ApiError(400, "The body must be JSON.", "bad_body") from err
        item_ids = _item_ids(body.get("items") if isinstance(body, dict) else body)
        await self._catalog.write(lambda db: _replace_items_blocking(db, pk, item_ids, principal))
        return await self._answer(public_id, principal)


def playlist_routes(catalog: Catalog) -> list[RouteSpec]:
    """/api/playlists and /api/playlists/{id}[/items]."""
    api = PlaylistsApi(catalog)
    tags = ("playlists",)
    items_body = {"type": "object", "properties": {"items": {"type": "array"}}}
    return [
        RouteSpec("GET", "/api/playlists", api.get_playlists, tags=tags),
        RouteSpec("POST", "/api/playlists", api.post_playlist, tags=tags, request_body=items_body),
        RouteSpec("GET", "/api/playlists/{id}", api.get_playlist, tags=tags),
        RouteSpec("PATCH", "/api/playlists/{id}", api.patch_playlist, tags=tags),
        RouteSpec("DELETE", "/api/playlists/{id}", api.delete_playlist, tags=tags),
        RouteSpec(
            "PUT",
            "/api/playlists/{id}/items",
            api.put_items,
            tags=tags,
            request_body=items_body,
        ),
    ]
