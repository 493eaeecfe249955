"""Direct play: GET and HEAD /api/items/{id}/stream serve the file itself.

The bytes go through sendfile.py, direct play's own small path (one range, If-Range, 206/416,
ETag, Last-Modified, Accept-Ranges, then os.sendfile onto the socket), because media is most
of what this box sends and aiohttp's FileResponse measured well short of nginx here (see
bench/playback.py). A file is never read into memory. An item whose drive is unplugged
answers 410 with a clear message; a file that vanished, or that is not a library file (a link
leading out of the library folders), answers 404. A signed-in person's GET is noted as their
player's current play (`now_playing`, memory only). It never transcodes.
"""

from __future__ import annotations

import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog.database import Database
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.library.roots import LibraryRoots
from core.people.access import Principal
from core.people.middleware import principal_of
from core.playback.sendfile import send_file

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.kinds import LibrarySource
    from core.playback.engine import PlaybackEngine
    from core.registry import Registry

_EXTRA_TYPES = {
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".webm": "video/webm",
    ".m4v": "video/mp4",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".flac": "audio/flac",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".avi": "video/x-msvideo",
    ".wmv": "video/x-ms-wmv",
    ".heic": "image/heic",
}


def content_type(path: str) -> str:
    """The MIME type players expect; Python's table misses several media formats."""
    extension = os.path.splitext(path)[1].lower()
    return (
        _EXTRA_TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    )


@dataclass(frozen=True, slots=True)
class ItemFile:
    """The file behind an item: where it is, its stored probe, and its library's state."""

    path: Path
    probe: dict[str, Any] | None
    online: bool
    library: str


def item_file_blocking(db: Database, item_id: str, principal: Principal) -> ItemFile | None:
    """The file of an item this principal may see (direct play and the transcoder both ask)."""
    visible, args = principal.item_clause()
    row = db.execute(
        "SELECT files.root, files.relpath, files.probe, libraries.online, libraries.name "
        "FROM items JOIN files ON files.id = items.file_id "
        f"JOIN libraries ON libraries.id = items.library_id WHERE items.id = ? AND {visible}",
        [item_id, *args],
    ).fetchone()
    if row is None:
        return None
    path = Path(os.fsdecode(row[0])) / os.fsdecode(row[1])
    probe = json.loads(row[2]) if row[2] else None
    return ItemFile(path, probe, bool(row[3]), str(row[4]))


def stream_routes(
    catalog: Catalog, sources: Registry[LibrarySource], playback: PlaybackEngine | None
) -> list[RouteSpec]:
    """The direct-play route (HEAD comes with GET); `playback` notes who plays what."""

    async def get_stream(request: web.Request) -> web.StreamResponse:
        """The media file itself, with Range support, for clients that can play it directly."""
        item_id = request.match_info["id"]
        principal = principal_of(request)
        found = await catalog.read(lambda db: item_file_blocking(db, item_id, principal))
        if found is None:
            raise ApiError(404, "No such item, or it has no file to play.", "item_not_found")
        path, library = found.path, found.library
        if not found.online:
            raise ApiError(
                410,
                f"The drive holding '{library}' is not connected; plug it in to play this.",
                "library_offline",
            )
        if request.method == "GET" and principal.user_id is not None and playback is not None:
            player = "Hearth web app" if principal.via_cookie else "Hearth"
            playback.now_playing.record(principal.user_id, item_id, player)
        # A missing or outside file (404 file_missing) is found when it is opened, off the loop.
        return await send_file(
            request,
            path,
            {"Content-Type": content_type(path.name), "Cache-Control": "private, no-transform"},
            LibraryRoots.of(sources.values()),
        )

    return [
        RouteSpec(
            "GET",
            "/api/items/{id}/stream",
            get_stream,
            tags=("playback",),
            links=True,
            responses={
                "200": "the file",
                "206": "part of the file",
                "410": "drive offline",
                "416": "range outside the file",
            },
        ),
    ]
