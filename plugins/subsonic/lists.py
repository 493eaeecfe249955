"""Lists and search: album lists of every type, random songs, genres, songs by genre, search2/3.

Blocking functions over the catalog, like `browse.py`, each limited to what the principal may
see. "frequent" and "recent" come from the person's own play history (Hearth's `history`,
which `scrobble` feeds), "highest" from their own ratings, "starred" from their stars. Sizes
are capped at 500, as the spec says. The lists that are the same for everyone who sees the
same music are kept per catalog version (`cache.py`). It never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.plugin_api import Database, Principal
from plugins.subsonic import shapes
from plugins.subsonic.browse import BlockingEndpoint, Params, folder_filter, reader, required
from plugins.subsonic.cache import CatalogCache
from plugins.subsonic.responses import GENERIC, Payload, SubsonicError
from plugins.subsonic.routes import Call, Endpoints, Handler
from plugins.subsonic.stars import starred_clause

MAX_SIZE = 500
# album list types whose albums and order are the same for everyone who sees the same music
CACHED_TYPES = frozenset(
    {"newest", "alphabeticalByName", "alphabeticalByArtist", "byYear", "byGenre"}
)


def number(params: Params, name: str, default: int, most: int = MAX_SIZE) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return max(0, min(int(value), most))
    except ValueError:
        raise SubsonicError(
            GENERIC, f"Parameter {name} must be a whole number, got {value!r}"
        ) from None


def _history(principal: Principal, expression: str) -> str:
    """An SQL expression over the person's history rows of an album's tracks (the user id is
    an int from the catalog, so it is safe inline)."""
    user = int(principal.user_id) if principal.user_id is not None else -1
    return (
        f"(SELECT {expression} FROM history AS h JOIN items AS c ON c.pk = h.item_pk "
        f"WHERE c.parent_pk = al.pk AND h.user_id = {user})"
    )


def _album_list_query(principal: Principal, params: Params) -> tuple[str, list[Any], str]:
    """The condition, its arguments and the order of an album list `type`."""
    kind = required(params, "type")
    user = int(principal.user_id) if principal.user_id is not None else -1
    rating = f"(SELECT rating FROM ratings WHERE user_id = {user} AND item_pk = al.pk)"
    played = (
        "al.pk IN (SELECT c.parent_pk FROM history AS h JOIN items AS c ON c.pk = h.item_pk "
        f"WHERE h.user_id = {user})"
    )
    simple = {
        "random": ("1", "random()"),
        "newest": ("1", "al.added_at DESC, al.pk DESC"),  # one scan: one added_at
        "alphabeticalByName": ("1", "al.sort_title"),
        "alphabeticalByArtist": ("1", "ar.sort_title, al.sort_title"),
        "highest": (f"{rating} IS NOT NULL", f"{rating} DESC, al.sort_title"),
        # albums the person played, found from their history (not each album asked in turn)
        "frequent": (played, f"{_history(principal, 'count(*)')} DESC"),
        "recent": (played, f"{_history(principal, 'max(h.watched_at)')} DESC"),
        "starred": (starred_clause(principal, "al"), "al.sort_title"),
    }
    if kind in simple:
        where, order = simple[kind]
        return where, [], order
    if kind == "byYear":
        first, last = int(required(params, "fromYear")), int(required(params, "toYear"))
        low, high = min(first, last), max(first, last)
        direction = "DESC" if first > last else "ASC"
        return "al.year BETWEEN ? AND ?", [low, high], f"al.year {direction}, al.sort_title"
    if kind == "byGenre":
        genre = required(params, "genre")
        where = (
            "EXISTS (SELECT 1 FROM items AS c JOIN item_genres AS g ON g.item_pk = c.pk "
            "WHERE c.parent_pk = al.pk AND g.genre = ?)"
        )
        return where, [genre], "al.sort_title"
    raise SubsonicError(GENERIC, f"Unknown album list type: {kind}")


def album_list_blocking(
    db: Database, principal: Principal, params: Params, element: str
) -> dict[str, Any]:
    where, args, order = _album_list_query(principal, params)
    folder, folder_args = folder_filter(params)
    albums = shapes.albums_blocking(
        db,
        principal,
        f"({where}) AND {folder}",
        [*args, *folder_args],
        order=order,
        limit=number(params, "size", 10),
        offset=number(params, "offset", 0, 1 << 30),
    )
    return {element: {"album": albums}}


def album_list(cache: CatalogCache, element: str) -> Handler:
    """getAlbumList(2): the lists that do not depend on the person (`CACHED_TYPES`) are kept
    per catalog version, with the person's own stars and ratings laid over them each time."""

    async def handle(call: Call) -> Payload:
        principal, params = call.principal, call.params
        if params.get("type") not in CACHED_TYPES:
            return await call.ctx.catalog.read(
                lambda db: album_list_blocking(db, principal, params, element)
            )
        key = cache.key(element, principal, params)
        albums: list[dict[str, Any]] | None = cache.get(key)
        if albums is None:
            version = cache.version
            built = await call.ctx.catalog.read(
                lambda db: album_list_blocking(db, principal, params, element)
            )
            albums = [shapes.with_marks(a, {}) for a in built[element]["album"]]
            cache.put(key, version, albums)
        marks = await call.ctx.catalog.read(lambda db: shapes.marks_blocking(db, principal))
        return {element: {"album": [shapes.with_marks(a, marks) for a in albums]}}

    return handle


def random_songs_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    where, args = folder_filter(params)
    if params.get("genre"):
        where += " AND t.pk IN (SELECT item_pk FROM item_genres WHERE genre = ?)"
        args.append(params["genre"])
    if params.get("fromYear"):
        where += " AND t.year >= ?"
        args.append(int(params["fromYear"]))
    if params.get("toYear"):
        where += " AND t.year <= ?"
        args.append(int(params["toYear"]))
    songs = shapes.songs_blocking(
        db,
        principal,
        where,
        args,
        order="random()",
        limit=number(params, "size", 10),
        every_song=True,
    )
    return {"randomSongs": {"song": songs}}


def genres_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    seen, args = shapes.visible(principal, "t")
    rows = db.execute(
        "SELECT g.genre, count(DISTINCT t.pk), count(DISTINCT t.parent_pk) FROM item_genres AS g "
        "JOIN items AS t ON t.pk = g.item_pk AND t.kind = 'track' "
        f"JOIN libraries AS l ON l.id = t.library_id AND l.kind = 'music' WHERE {seen} "
        "GROUP BY g.genre COLLATE NOCASE ORDER BY g.genre COLLATE NOCASE",
        args,
    ).fetchall()
    genres = [{"value": r[0], "songCount": r[1], "albumCount": r[2]} for r in rows]
    return {"genres": {"genre": genres}}


def songs_by_genre_blocking(db: Database, principal: Principal, params: Params) -> dict[str, Any]:
    genre = required(params, "genre")
    folder, folder_args = folder_filter(params)
    songs = shapes.songs_blocking(
        db,
        principal,
        f"t.pk IN (SELECT item_pk FROM item_genres WHERE genre = ?) AND {folder}",
        [genre, *folder_args],
        limit=number(params, "count", 10),
        offset=number(params, "offset", 0, 1 << 30),
    )
    return {"songsByGenre": {"song": songs}}


def _as(
    func: Callable[[Database, Principal, Params, str], dict[str, Any]], element: str
) -> BlockingEndpoint:
    """One function serving two endpoints that differ only in their element's name."""
    return lambda db, principal, params: func(db, principal, params, element)


def register(endpoints: Endpoints) -> None:
    """Add the list and search endpoints to the dispatch table."""
    endpoints.add("getAlbumList", album_list(endpoints.cache, "albumList"))
    endpoints.add("getAlbumList2", album_list(endpoints.cache, "albumList2"))
    endpoints.add("getRandomSongs", reader(random_songs_blocking))
    endpoints.add("getGenres", reader(genres_blocking))
    endpoints.add("getSongsByGenre", reader(songs_by_genre_blocking))
