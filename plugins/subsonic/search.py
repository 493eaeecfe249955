"""search2 / search3: artists and albums whose title matches, songs matching anywhere (title,
artists, album), each list sorted as browsing sorts it and paged by the app's counts.

A common word matches thousands of items on a big library ("Silent": 2,900 titles and 7,600
items in all on 100k tracks), and reading each candidate's row is most of a search's cost, so
the title matches are read once for both artists and albums, and only the rows shown are
shaped (bench/subsonic.py). An empty query (apps syncing the whole library page by page) lists
songs in title order, as the catalog's index keeps them, instead of sorting every song by its
album for each page. A search with words is kept per catalog version (`cache.py`). Only what
the principal may see is read. It never writes.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import Database, Principal, fts_query
from plugins.subsonic import shapes
from plugins.subsonic.browse import Params, folder_filter
from plugins.subsonic.cache import CatalogCache
from plugins.subsonic.lists import number
from plugins.subsonic.responses import Payload
from plugins.subsonic.routes import Call, Endpoints, Handler


def _page(items: list[int], params: Params, count: str, offset: str) -> list[int]:
    start = number(params, offset, 0, 1 << 30)
    return items[start : start + number(params, count, 20)]


def _artists_blocking(db: Database, pks: list[int]) -> list[dict[str, Any]]:
    """Artists by pk, in this order, with their album counts."""
    if not pks:
        return []
    marks = ",".join("?" * len(pks))
    rows = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT ar.pk, ar.id, ar.title, (SELECT count(*) FROM items AS al "
            f"WHERE al.parent_pk = ar.pk) FROM items AS ar WHERE ar.pk IN ({marks})",
            pks,
        )
    }
    return [
        {"id": r[0], "name": r[1], "coverArt": r[0], "albumCount": r[2]}
        for pk in pks
        if (r := rows.get(pk)) is not None
    ]


def matched_blocking(
    db: Database, principal: Principal, params: Params, terms: str
) -> dict[str, list[dict[str, Any]]]:
    """The three lists for FTS `terms`: titles for artists and albums, anything for songs."""
    seen, seen_args = shapes.visible(principal, "c")
    folder, folder_args = folder_filter(params)
    titled: dict[str, list[int]] = {"artist": [], "album": []}
    for pk, kind in db.execute(
        "SELECT c.pk, c.kind FROM items AS c JOIN libraries AS l ON l.id = c.library_id "
        "AND l.kind = 'music' WHERE c.pk IN (SELECT rowid FROM items_fts WHERE items_fts "
        f"MATCH ?) AND c.kind IN ('artist', 'album') AND {seen} AND {folder} "
        "ORDER BY c.sort_title, c.pk",
        [f"title : ({terms})", *seen_args, *folder_args],
    ):
        titled[kind].append(pk)
    match = "t.pk IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
    songs = shapes.songs_blocking(
        db,
        principal,
        f"{match} AND {folder}",
        [terms, *folder_args],
        limit=number(params, "songCount", 20),
        offset=number(params, "songOffset", 0, 1 << 30),
    )
    artists = _page(titled["artist"], params, "artistCount", "artistOffset")
    albums = _page(titled["album"], params, "albumCount", "albumOffset")
    return {
        "artist": _artists_blocking(db, artists),
        "album": shapes.albums_of_blocking(db, principal, albums),
        "song": songs,
    }


def everything_blocking(
    db: Database, principal: Principal, params: Params
) -> dict[str, list[dict[str, Any]]]:
    """An empty query: every artist, album and song, page by page (apps syncing)."""
    folder, folder_args = folder_filter(params)
    seen, seen_args = shapes.visible(principal, "ar")
    rows = db.execute(
        "SELECT ar.pk FROM libraries AS l CROSS JOIN items AS ar ON ar.library_id = l.id "
        f"AND l.kind = 'music' WHERE ar.kind = 'artist' AND {seen} AND {folder} "
        "ORDER BY ar.sort_title LIMIT ? OFFSET ?",
        [
            *seen_args,
            *folder_args,
            number(params, "artistCount", 20),
            number(params, "artistOffset", 0, 1 << 30),
        ],
    ).fetchall()
    albums = shapes.albums_blocking(
        db,
        principal,
        folder,
        folder_args,
        limit=number(params, "albumCount", 20),
        offset=number(params, "albumOffset", 0, 1 << 30),
    )
    # songs in title order, which the library's (kind, sort_title) index already keeps: an app
    # syncing pages through every song, and sorting them all by album for each page of 500
    # cost 370 ms of CPU a page on 100k tracks
    seen, seen_args = shapes.visible(principal, "t")
    songs = db.execute(
        "SELECT t.pk FROM libraries AS l CROSS JOIN items AS t ON t.library_id = l.id "
        f"AND l.kind = 'music' WHERE t.kind = 'track' AND {seen} AND {folder} "
        "ORDER BY t.sort_title, t.pk LIMIT ? OFFSET ?",
        [
            *seen_args,
            *folder_args,
            number(params, "songCount", 20),
            number(params, "songOffset", 0, 1 << 30),
        ],
    ).fetchall()
    return {
        "artist": _artists_blocking(db, [r[0] for r in rows]),
        "album": albums,
        "song": shapes.songs_of_blocking(db, principal, [r[0] for r in songs]),
    }


def search_blocking(
    db: Database, principal: Principal, params: Params, element: str
) -> dict[str, Any]:
    text = params.get("query", "").strip().strip('"')
    if not text:
        return {element: everything_blocking(db, principal, params)}
    terms = fts_query(text)
    if terms is None:
        return {element: {"artist": [], "album": [], "song": []}}
    return {element: matched_blocking(db, principal, params, terms)}


def kept(cache: CatalogCache, element: str) -> Handler:
    """A search with words is kept per catalog version (apps ask again as screens come back);
    the person's own stars and ratings are laid over it each time. An empty query is an app
    paging through everything once: not kept."""

    async def handle(call: Call) -> Payload:
        principal, params = call.principal, call.params
        if not params.get("query", "").strip().strip('"'):
            return await call.ctx.catalog.read(
                lambda db: search_blocking(db, principal, params, element)
            )
        key = cache.key(element, principal, params)
        found: dict[str, list[dict[str, Any]]] | None = cache.get(key)
        if found is None:
            version = cache.version
            built = await call.ctx.catalog.read(
                lambda db: search_blocking(db, principal, params, element)
            )
            found = {k: [shapes.with_marks(e, {}) for e in v] for k, v in built[element].items()}
            cache.put(key, version, found)
        marks = await call.ctx.catalog.read(lambda db: shapes.marks_blocking(db, principal))
        return {element: {k: [shapes.with_marks(e, marks) for e in v] for k, v in found.items()}}

    return handle


def register(endpoints: Endpoints) -> None:
    """Add search2 and search3 to the dispatch table."""
    endpoints.add("search2", kept(endpoints.searches, "searchResult2"))
    endpoints.add("search3", kept(endpoints.searches, "searchResult3"))
