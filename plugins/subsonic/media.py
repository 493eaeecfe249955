"""Media endpoints: `stream` and `download` (the file itself, with Range) and `getCoverArt`.

Files leave only through the core's library-file check (`send_file` with the library roots),
as the web app's direct play does, so a link leading out of the library folders is refused;
a song the principal may not see is "not found" (70) whether it exists or not. Cover art is
the item's own artwork, else its album's or artist's, else the first of its tracks' (an album
whose art is embedded in its files), resized once into the shared thumbnail cache. `stream`
re-encodes only when asked (`transcode.py`) and notes the play as the app's "now playing".
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from core.plugin_api import (
    ApiError,
    ArtworkError,
    Database,
    Principal,
    content_type,
    item_file_blocking,
    send_file,
    send_server_file,
    thumbnail_blocking,
)
from plugins.subsonic import shapes
from plugins.subsonic.now_playing import note_play
from plugins.subsonic.responses import NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints
from plugins.subsonic.transcode import send_transcode, time_offset, transcode_output

COVER_KINDS = ("thumb", "poster")
DEFAULT_COVER = 1080  # the largest cached size when an app asks for no size


def song_file_blocking(
    db: Database, principal: Principal, song_id: str
) -> tuple[Path, str, int | None]:
    """The file, suffix and kbps of a song the principal may hear, else error 70: one read
    for a stream, whose overhead shows against the core's direct play (bench/subsonic.py)."""
    found = shapes.songs_blocking(db, principal, "t.id = ?", [song_id], limit=1)
    file = item_file_blocking(db, song_id, principal) if found else None
    if not found or file is None:
        raise SubsonicError(NOT_FOUND, "Song not found")
    return file.path, str(found[0].get("suffix", "")), found[0].get("bitRate")


def song_path_blocking(db: Database, principal: Principal, song_id: str) -> Path:
    """The file of a song the principal may hear, else error 70."""
    return song_file_blocking(db, principal, song_id)[0]


async def send_song(call: Call, path: Path, attachment: bool) -> web.StreamResponse:
    headers = {"Content-Type": content_type(path.name), "Cache-Control": "private, no-transform"}
    if attachment:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quoted(path.name)}"
    try:
        return await send_file(call.request, path, headers, call.ctx.library_roots())
    except ApiError as err:  # gone from disk, or not a library file: as the spec says it
        if err.status == 416:
            raise
        raise SubsonicError(NOT_FOUND, err.message) from err


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


async def stream(call: Call) -> web.StreamResponse:
    """The song's file as it is, with Range (apps seek by bytes); re-encoded through the
    playback engine when `format`, `maxBitRate` or `timeOffset` ask for it."""
    song_id = call.require("id")
    path, suffix, kbps = await call.ctx.catalog.read(
        lambda db: song_file_blocking(db, call.principal, song_id)
    )
    output = transcode_output(
        call.get("format"), call.integer("maxBitRate", 0), time_offset(call), suffix, kbps
    )
    note_play(call, song_id)
    if output is None:
        return await send_song(call, path, attachment=False)
    return await send_transcode(call, song_id, output)


async def download(call: Call) -> web.StreamResponse:
    """The song's file as an attachment."""
    song_id = call.require("id")
    path, _, _ = await call.ctx.catalog.read(
        lambda db: song_file_blocking(db, call.principal, song_id)
    )
    return await send_song(call, path, attachment=True)


def cover_ref_blocking(db: Database, principal: Principal, item_id: str) -> str | None:
    """The artwork reference for an item the principal may see: its own (or an ancestor's),
    else the first of its descendants' (tracks with embedded covers)."""
    seen, args = shapes.visible(principal, "i")
    row = db.execute(
        "SELECT i.pk, i.parent_pk, i.metadata FROM items AS i "
        f"JOIN libraries AS l ON l.id = i.library_id WHERE i.id = ? AND {seen}",
        [item_id, *args],
    ).fetchone()
    if row is None:
        return None
    pk = row[0]
    for _depth in range(4):
        ref = _artwork(row[2])
        if ref is not None:
            return ref
        if row[1] is None:
            break
        row = db.execute(
            "SELECT pk, parent_pk, metadata FROM items WHERE pk = ?", [row[1]]
        ).fetchone()
    clause, clause_args = principal.item_clause("c")
    rows = db.execute(
        "SELECT c.metadata FROM items AS c WHERE (c.parent_pk = ? OR c.parent_pk IN "
        f"(SELECT pk FROM items WHERE parent_pk = ?)) AND {clause} "
        "ORDER BY c.disc_number, c.index_number, c.sort_title LIMIT 50",
        [pk, pk, *clause_args],
    )
    return next((ref for (meta,) in rows if (ref := _artwork(meta)) is not None), None)


def _artwork(metadata: str | None) -> str | None:
    art: Any = json.loads(metadata or "{}").get("artwork", {})
    return next((art[k] for k in COVER_KINDS if isinstance(art.get(k), str)), None)


async def cover_art(call: Call) -> web.StreamResponse:
    """The cover, fitted into `size` (snapped up to a cached size)."""
    item_id = call.require("id")
    size = call.integer("size", DEFAULT_COVER)
    ref = await call.ctx.catalog.read(lambda db: cover_ref_blocking(db, call.principal, item_id))
    if ref is None:
        raise SubsonicError(NOT_FOUND, "Cover art not found")
    roots, cache = call.ctx.library_roots(), call.ctx.thumbnail_dir
    try:
        path = await asyncio.get_running_loop().run_in_executor(
            None, thumbnail_blocking, ref, max(16, size), cache, roots
        )
    except ArtworkError as err:
        raise SubsonicError(NOT_FOUND, f"Cover art not available: {err.problem}") from err
    headers = {"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"}
    return await send_server_file(call.request, path, headers)


def register(endpoints: Endpoints) -> None:
    """Add the media endpoints to the dispatch table."""
    endpoints.add("stream", stream)
    endpoints.add("download", download)
    endpoints.add("getCoverArt", cover_art)
