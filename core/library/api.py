"""The browsing API: libraries, items with filters and search, one item in full, artwork, scans.

Handlers validate query parameters into typed values and answer JSON; the work is in
`queries` (reader threads) and the scan manager. Open until the people-and-privacy layer adds
its checks. It never writes to the catalog except by asking the scan manager to scan.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog.database import Database
from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.routes import Param, RouteSpec
from core.library import queries
from core.library.fields import ARTWORK_KINDS, ITEM_KINDS
from core.people.access import Principal
from core.people.middleware import principal_of

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.kinds import LibrarySource
    from core.library.stills import StillsJob
    from core.registry import Registry
    from core.scan.manager import ScanManager

MAX_LIMIT = 500
THUMB_CACHE = "thumbnails"


def _int(
    request: web.Request, name: str, default: int | None, low: int = 0, high: int = 10**9
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ApiError(
            400, f"'{name}' must be a whole number, got {raw!r}", "bad_parameter"
        ) from err
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}", "bad_parameter")
    return value


def _choice(
    request: web.Request, name: str, choices: tuple[str, ...] | dict[str, str], default: str | None
) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ApiError(400, f"'{name}' must be one of {', '.join(choices)}", "bad_parameter")
    return raw


def parse_item_query(request: web.Request) -> queries.ItemQuery:
    """Query parameters of GET /api/items, checked."""
    order = _choice(request, "order", ("asc", "desc"), None)
    sort = _choice(request, "sort", queries.SORTS, "title") or "title"
    return queries.ItemQuery(
        library=_int(request, "library", None),
        parent=request.query.get("parent") or None,
        kind=_choice(request, "kind", ITEM_KINDS, None),
        genre=request.query.get("genre") or None,
        year=_int(request, "year", None, 1800, 3000),
        text=request.query.get("q") or None,
        sort=sort,
        descending=order == "desc" if order else sort == "added",
        offset=_int(request, "offset", 0) or 0,
        limit=_int(request, "limit", 50, 1, MAX_LIMIT) or 50,
    )


def _list_blocking(
    db: Database, query: queries.ItemQuery, principal: Principal
) -> tuple[list[dict[str, Any]], int]:
    return queries.list_items_blocking(db, query, principal)


class LibraryApi:
    """The handlers, over the catalog, the registered sources and the scans."""

    def __init__(
        self,
        catalog: Catalog,
        sources: Registry[LibrarySource],
        scans: ScanManager,
        thumbnails: Path,
        stills: StillsJob | None,
    ) -> None:
        self._catalog = catalog
        self._sources = sources
        self._scans = scans
        self._thumbnails = thumbnails
        self._stills = stills

    async def get_libraries(self, request: web.Request) -> web.Response:
        """Every library with its item counts and whether its source is online."""
        principal = principal_of(request)
        libraries = await self._catalog.read(
            partial(queries.libraries_blocking, principal=principal)
        )
        return web.json_response({"libraries": libraries})

    async def get_items(self, request: web.Request) -> web.Response:
        """Items with filters, full-text search, sort and paging."""
        query = parse_item_query(request)
        principal = principal_of(request)
        items, total = await self._catalog.read(
            partial(_list_blocking, query=query, principal=principal)
        )
        return web.json_response({"items": items, "total": total})

    async def get_recent(self, request: web.Request) -> web.Response:
        """Recently added items, per library."""
        limit = _int(request, "limit", 20, 1, 100) or 20
        principal = principal_of(request)
        libraries = await self._catalog.read(
            partial(queries.libraries_blocking, principal=principal)
        )
        result = []
        for library in libraries:
            if not library["online"]:
                continue
            kind = {
                "movies": "movie",
                "shows": "episode",
                "music": "album",
                "photos": "photo",
                "videos": "video",
            }[library["kind"]]
            query = queries.ItemQuery(
                library=library["id"], kind=kind, sort="added", descending=True, limit=limit
            )
            items, _ = await self._catalog.read(
                partial(_list_blocking, query=query, principal=principal)
            )
            result.append({"library_id": library["id"], "name": library["name"], "items": items})
        return web.json_response({"libraries": result})

    async def get_item(self, request: web.Request) -> web.Response:
        """One item in full: metadata, streams, subtitles, children and artwork."""
        item_id = request.match_info["id"]
        principal = principal_of(request)
        item = await self._catalog.read(
            lambda db: queries.get_item_blocking(db, item_id, principal)
        )
        if item is None:
            raise ApiError(404, "No such item.", "item_not_found")
        return web.json_response(item)

    async def get_artwork(self, request: web.Request) -> web.StreamResponse:
        """An item's poster, fanart, banner or thumb, resized once and cached."""
        from core.library.artwork import ArtworkError, thumbnail_blocking
        from core.library.roots import LibraryRoots
        from core.playback.sendfile import send_server_file

        item_id, kind = request.match_info["id"], request.match_info["kind"]
        if kind not in ARTWORK_KINDS:
            raise ApiError(
                404, f"Artwork is one of {', '.join(ARTWORK_KINDS)}.", "artwork_not_found"
            )
        size = _int(request, "size", 480, 16, 4096) or 480
        principal = principal_of(request)
        ref = await self._catalog.read(
            lambda db: queries.artwork_ref_blocking(db, item_id, kind, principal)
        )
        if ref is None:
            raise ApiError(404, f"This item has no {kind}.", "artwork_not_found")
        cache = self._thumbnails
        roots = LibraryRoots.of(self._sources.values())
        try:
            path: Path = await asyncio.get_running_loop().run_in_executor(
                None, thumbnail_blocking, ref, size, cache, roots
            )
        except ArtworkError as err:
            raise ApiError(404, err.problem, "artwork_unavailable") from err
        # The cached JPEG's own validators (ETag, Last-Modified) answer revalidations with 304.
        headers = {"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"}
        return await send_server_file(request, path, headers)

    async def get_scan(self, request: web.Request) -> web.Response:
        """Scan state, progress counts, rate, the files that could not be read, and the
        pictures being made for videos without artwork (core.library.stills)."""
        status = self._scans.status()
        status["errors"] = await self._catalog.read(queries.scan_errors_blocking)
        stills = self._stills
        status["artwork"] = stills.status() if stills is not None else None
        return web.json_response(status)

    async def post_scan(self, request: web.Request) -> web.Response:
        """Start a scan of one library (by name) or of all of them."""
        body = await json_body(request, limit=None) if request.can_read_body else {}
        name = body.get("library")
        if name is None:
            queued = self._scans.request_all()
        else:
            matches = [s for s in self._sources.values() if s.library.name == name]
            if not matches:
                raise ApiError(404, f"No library named {name!r}.", "library_not_found")
            for source in matches:
                self._scans.request(source.source_id)
            queued = [s.source_id for s in matches]
        return web.json_response({"queued": queued}, status=202)


def library_routes(api: LibraryApi) -> list[RouteSpec]:
    """The browsing and scanning routes."""
    item_filters = (
        Param("library", "library id", "integer"),
        Param("parent", "parent item id"),
        Param("kind", "one of " + ", ".join(ITEM_KINDS)),
        Param("genre", "genre name"),
        Param("year", "release year", "integer"),
        Param("q", "text search over titles, people, artists and albums"),
        Param("sort", "one of " + ", ".join(queries.SORTS)),
        Param("order", "asc or desc"),
        Param("offset", "items to skip", "integer"),
        Param("limit", f"page size, at most {MAX_LIMIT}", "integer"),
    )
    tags = ("library",)
    return [
        RouteSpec("GET", "/api/libraries", api.get_libraries, tags=tags),
        RouteSpec("GET", "/api/items", api.get_items, tags=tags, query=item_filters),
        RouteSpec(
            "GET",
            "/api/recent",
            api.get_recent,
            tags=tags,
            query=(Param("limit", "per library", "integer"),),
        ),
        RouteSpec("GET", "/api/items/{id}", api.get_item, tags=tags),
        RouteSpec(
            "GET",
            "/api/items/{id}/artwork/{kind}",
            api.get_artwork,
            tags=tags,
            query=(Param("size", "box size in pixels", "integer"),),
        ),
        RouteSpec("GET", "/api/scan", api.get_scan, tags=tags, admin=True),
        RouteSpec(
            "POST",
            "/api/scan",
            api.post_scan,
            admin=True,
            tags=tags,
            responses={"202": "queued"},
            request_body={"type": "object", "properties": {"library": {"type": "string"}}},
        ),
    ]
