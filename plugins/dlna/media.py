"""What TVs fetch besides SOAP: the media files, their thumbnails and their subtitle files.

`/dlna/media/{id}` serves the file through the core's direct-play path (core.playback.sendfile:
one Range, 206/416, HEAD, sendfile) plus the DLNA headers renderers ask for: transferMode,
contentFeatures, realTimeInfo, and Samsung's caption and media info. Time-seek and play-speed
requests are refused with 406, as the resource advertises byte seeking only. A library whose
drive is away answers 410. Only items TVs may see (the browse tree's LAN rules) are served,
found by their random ids, or the one item a valid capability link in the query names, as its
person may see it (play-to-TV, core.people.links); anything else is 404, whatever the reason.
A subtitle is served only
if it is one of that video's own sidecar files. Thumbnails, and the JPEG copy of a photo whose
own format TVs cannot show (`/dlna/photo/{id}.jpg`, e.g. an iPhone's HEIC), come from the
server's shared artwork cache. Every file is opened through the library roots
(core.library.roots): one that is not a library file, a link leading out of the library
folders included, answers as a missing one. It never transcodes video (transcode.py does) and
never takes a path.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from core.plugin_api import (
    ApiError,
    ArtworkError,
    Database,
    Principal,
    fitted_jpeg_blocking,
    linked_principal,
    send_file,
    send_server_file,
    thumbnail_blocking,
)
from plugins.dlna.didl import ART_SIZE, SUBTITLE_TYPES, THUMBNAIL, subtitle_url
from plugins.dlna.objects import FROM_SQL, MediaItem, entry_from_row, pick_art
from plugins.dlna.profiles import SCREEN_SIZE, MediaProfile, media_profile, screen_copy
from plugins.dlna.selection import RowReader
from plugins.dlna.service import DlnaService, base_url, check_host
from plugins.dlna.subtitles import with_subtitles
from plugins.dlna.tree import BrowseTree


def item_id_of(request: web.Request, key: str = "id") -> str:
    return request.match_info[key].split(".", 1)[0]


def dlna_headers(
    request: web.Request, profile: MediaProfile, features: bool = False
) -> dict[str, str]:
    """The DLNA response headers for a resource (`features`: contentFeatures even unasked);
    raises 406 for what it cannot honour."""
    asked = request.headers.get("transferMode.dlna.org", "").strip().lower()
    if asked not in ("", "streaming", "interactive", "background"):
        raise ApiError(406, "Unknown transfer mode.", "not_acceptable")
    if asked == "streaming" and not profile.streaming:
        raise ApiError(406, "Images are sent interactively, not streamed.", "not_acceptable")
    if "TimeSeekRange.dlna.org" in request.headers and not profile.time_seek:
        raise ApiError(406, "Seek by bytes (Range); time seeking is not offered.", "not_acceptable")
    speed = request.headers.get("PlaySpeed.dlna.org", "").replace(" ", "")
    if speed and speed != "speed=1":
        raise ApiError(406, "Only normal play speed is offered.", "not_acceptable")
    headers = {
        "Content-Type": profile.mime,
        "transferMode.dlna.org": asked.capitalize() if asked else profile.transfer_mode,
        "Cache-Control": "private, no-transform",
    }
    if features or request.headers.get("getcontentFeatures.dlna.org", "").strip() == "1":
        headers["contentFeatures.dlna.org"] = profile.features
    if "realTimeInfo.dlna.org" in request.headers:
        headers["realTimeInfo.dlna.org"] = "DLNA.ORG_TLAG=*"
    return headers


async def playable_item(
    service: DlnaService, item_id: str, linked: Principal | None = None
) -> tuple[MediaItem | None, bool]:
    """The item TVs may play (or None), and whether its library is online; one TVs may not
    play too when `linked` (a capability link's person, for this item) may."""

    def find(tree: BrowseTree) -> tuple[MediaItem | None, bool]:
        node = tree.node(f"item:{item_id}")
        if node is not None:
            entry = tree.with_subtitles([node.entry])[0]
            return (entry if isinstance(entry, MediaItem) else None), True
        row = tree.db.execute(
            "SELECT libraries.name FROM items JOIN libraries "
            "ON libraries.id = items.library_id WHERE items.id = ? AND libraries.online = 0 "
            f"AND {tree.visible}",
            [item_id, *tree.visible_args],
        ).fetchone()
        wanted = service.config.libraries
        return None, row is None or (wanted is not None and row[0] not in wanted)

    item, online = await service.read_tree(find)
    if item is None and linked is not None:
        return await service.ctx.catalog.read(lambda db: _linked_item_blocking(db, item_id, linked))
    return item, online


def _linked_item_blocking(
    db: Database, item_id: str, linked: Principal
) -> tuple[MediaItem | None, bool]:
    """The item as a link's person may see it (any library of theirs, not only LAN-visible
    ones), with its sidecar subtitles, and whether its library is online."""
    row = RowReader(db, linked.item_clause(), linked.item_clause("child")).first(
        "items.id = ?", [item_id]
    )
    if row is None:
        return None, True
    online = db.execute(
        "SELECT libraries.online FROM items JOIN libraries ON libraries.id = items.library_id "
        "WHERE items.id = ?",
        [item_id],
    ).fetchone()
    [entry] = with_subtitles([entry_from_row(row)], lambda *at: _subtitle_names(db, *at))
    return (entry if isinstance(entry, MediaItem) else None), bool(online and online[0])


def _subtitle_names(db: Database, library_id: int, root: bytes, folder: bytes) -> list[str]:
    """The subtitle files in one folder, read by the files' unique index (the folder index,
    which holds them for every folder, knows only libraries TVs may see)."""
    prefix = folder + b"/" if folder else b""
    # "0" follows "/": past the folder; at a library's top, past any real name
    after = folder + b"0" if folder else b"\xff" * 8
    names = []
    for (relpath,) in db.execute(
        "SELECT relpath FROM files WHERE library_id = ? AND root = ? AND relpath >= ? "
        "AND relpath < ? AND role = 'subtitle'",
        [library_id, root, prefix, after],
    ):
        parent, name = os.path.split(bytes(relpath))
        if parent == folder:
            names.append(os.fsdecode(name))
    return names


FILE_MISSING = "The file is gone from disk; a rescan will tidy up."


async def playable_file(service: DlnaService, request: web.Request) -> tuple[MediaItem, Path]:
    """The item (`{id}`) TVs, or the person of a link for it, may play and its file's name;
    raises 410 (drive away) or 404. The file itself is checked by whoever opens it."""
    item_id = item_id_of(request)
    linked = linked_principal(request, item_id)
    item, online = await playable_item(service, item_id, linked)
    if not online:
        raise ApiError(410, "The drive holding this is not connected.", "library_offline")
    if item is None:
        raise ApiError(404, "No such item.", "item_not_found")
    return item, Path(os.fsdecode(item.root)) / os.fsdecode(item.relpath)


async def library_path(service: DlnaService, path: Path) -> Path:
    """The checked real path of a library file, for ffmpeg; 404 when it is gone or is not a
    library file (a link out of the library folders)."""
    roots = service.ctx.library_roots()
    try:
        return Path(await service.ctx.run_blocking(roots.real_path_blocking, path))
    except OSError as err:
        raise ApiError(404, FILE_MISSING, "file_missing") from err


class DlnaMedia:
    """Handlers for files, thumbnails and subtitles."""

    def __init__(self, service: DlnaService) -> None:
        self.service = service
        # Photo copies being made, by source path: a TV often asks twice at once (HEAD and GET,
        # or a slideshow's prefetch), and one 12 MP HEIC takes ~140 MB at its peak to decode.
        self._copies: dict[str, asyncio.Future[Path]] = {}

    async def media(self, request: web.Request) -> web.StreamResponse:
        """An item's file with DLNA headers and byte ranges, for TVs and players."""
        check_host(request)
        item, path = await playable_file(self.service, request)
        headers = dlna_headers(request, media_profile(item.kind, item.filename, item.probe))
        if request.headers.get("getCaptionInfo.sec", "").strip() == "1" and item.subtitles:
            name = item.subtitles[0][0]
            url = subtitle_url(base_url(request), item.item_id, name)
            if linked_principal(request, item.item_id) is not None:  # the link reaches it too
                url += f"?link={request.query['link']}"
            headers["CaptionInfo.sec"] = url
        if request.headers.get("getMediaInfo.sec", "").strip() == "1" and item.duration:
            headers["MediaInfo.sec"] = f"SEC_Duration={round(item.duration * 1000)};"
        return await send_file(request, path, headers, self.service.ctx.library_roots())

    async def art(self, request: web.Request) -> web.StreamResponse:
        """A 160-pixel JPEG of an item's poster, cover or photo (DLNA JPEG_TN)."""
        check_host(request)
        item_id = item_id_of(request)
        linked = linked_principal(request, item_id)  # the picture of what a person played

        def find(db: Database) -> str | None:
            libraries = self.service.libraries_blocking(db) if linked is None else None
            visible, args = (
                self.service.visible_blocking(db) if linked is None else linked.item_clause()
            )
            row = db.execute(
                f"SELECT items.kind, items.library_id, items.metadata, parent.metadata, "
                f"grand.metadata {FROM_SQL} WHERE items.id = ? AND ({visible})",
                [item_id, *args],
            ).fetchone()
            if row is None or (libraries is not None and row[1] not in libraries):
                return None
            picked = pick_art(row[0], [row[2], row[3], row[4]])
            return picked[1] if picked else None

        ref = await self.service.ctx.catalog.read(find)
        if ref is None:
            raise ApiError(404, "This item has no artwork.", "artwork_not_found")
        ctx = self.service.ctx
        try:
            path = await ctx.run_blocking(
                thumbnail_blocking, ref, ART_SIZE, ctx.thumbnail_dir, ctx.library_roots()
            )
        except ArtworkError as err:
            raise ApiError(404, err.problem, "artwork_unavailable") from err
        return await send_server_file(request, path, dlna_headers(request, THUMBNAIL))

    async def photo(self, request: web.Request) -> web.StreamResponse:
        """A photo whose own format TVs cannot show (HEIC, WebP, TIFF, ...) as a JPEG of at
        most SCREEN_SIZE pixels, the first resource its DIDL-Lite offers."""
        check_host(request)
        item, path = await playable_file(self.service, request)
        own = media_profile(item.kind, item.filename, item.probe)
        profile = screen_copy(item.kind, own, item.probe)
        if profile is None:
            raise ApiError(404, "This item is served as it is, without a copy.", "no_photo_copy")
        headers = dlna_headers(request, profile)  # first: a refused request costs no decoding
        try:
            jpeg = await asyncio.shield(self._copy(str(path)))
        except ArtworkError as err:
            raise ApiError(404, err.problem, "photo_unavailable") from err
        return await send_server_file(request, jpeg, headers)

    def _copy(self, source: str) -> asyncio.Future[Path]:
        """The cached copy being made (or found) for `source`, shared by concurrent requests."""
        making = self._copies.get(source)
        if making is None:
            ctx = self.service.ctx
            making = asyncio.ensure_future(
                ctx.run_blocking(
                    fitted_jpeg_blocking,
                    source,
                    SCREEN_SIZE,
                    ctx.thumbnail_dir,
                    ctx.library_roots(),
                )
            )
            self._copies[source] = making
            making.add_done_callback(lambda done: self._finished(source, done))
        return making

    def _finished(self, source: str, done: asyncio.Future[Path]) -> None:
        self._copies.pop(source, None)
        if not done.cancelled():
            done.exception()  # retrieved: when every asker went away, nobody else will

    async def subtitle(self, request: web.Request) -> web.StreamResponse:
        """One of a video's own sidecar subtitle files."""
        check_host(request)
        item_id = item_id_of(request, "item")
        item, _ = await playable_item(self.service, item_id, linked_principal(request, item_id))
        name = request.match_info["name"]
        found: dict[str, Any] = dict(item.subtitles) if item is not None else {}
        if item is None or name not in found:
            raise ApiError(404, "No such subtitle.", "subtitle_not_found")
        folder = os.path.dirname(os.fsdecode(item.relpath))
        path = Path(os.fsdecode(item.root)) / folder / name
        mime = SUBTITLE_TYPES.get(found[name], "application/octet-stream")
        gone = ApiError(404, "The file is gone from disk.", "file_missing")
        roots = self.service.ctx.library_roots()
        return await send_file(request, path, {"Content-Type": mime}, roots, gone)
