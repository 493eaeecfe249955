"""HTTP for downloads: ask for one (an item, a season, an album, a playlist), fetch its file
with Range, say it is stored, delete it, and "check my downloads" on each contact.

Access is decided at every step as the asker may see the item now (core.people.access): a
member without the grant gets 404 when asking and when fetching, and the check answers
"delete" for a download whose item they may no longer see (grant removed, rating limit
lowered, item gone) and forgets it. A revoked session or device key loses its rows with it
(ON DELETE CASCADE) and gets 401 on its next check, which tells the app to delete that
person's downloads. The original is sent as direct play sends it; a phone-sized version is
made by copies.py and kept only while someone still waits for it (UNCLAIMED_DAYS at most).
It never sends a file the asker could not stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.downloads import store
from core.downloads.copies import PRESETS, CopyJob, CopyMaker, copy_name
from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.routes import Param, RouteSpec
from core.library.roots import LibraryRoots
from core.people.access import Principal
from core.people.accounts import now_text
from core.people.middleware import principal_of
from core.playback.engine import _preset
from core.playback.sendfile import send_file, send_server_file
from core.playback.stream import content_type, item_file_blocking

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.configuration.core_schema import HearthConfig
    from core.kinds import LibrarySource
    from core.playback.engine import PlaybackEngine
    from core.registry import Registry

QUALITIES = ("original", *PRESETS)
UNCLAIMED_DAYS = 7
SWEEP_EVERY = 3600.0
NOT_FOUND = "No such item, or it is not yours to download."


def device_of(request: web.Request) -> Principal:
    """The asker, who must be a person on a device of their own (a session or device key):
    a download is held by a device, and a shared link or a TV without an account has none."""
    principal = principal_of(request)
    if principal.user_id is None or principal.session_id is None:
        raise ApiError(403, "Downloads need a signed-in person on their own device.", "forbidden")
    return principal


class Downloads:
    """The routes' state: the copy maker and the sweeper that deletes unwanted copies. It reads
    and writes the catalog, finds files through the sources, and makes copies within the
    playback engine's capacity; `start` once the engine is (the serving hub only)."""

    def __init__(
        self,
        catalog: Catalog,
        sources: Registry[LibrarySource],
        playback: PlaybackEngine,
        hearth: HearthConfig,
    ) -> None:
        self._catalog = catalog
        self._sources = sources
        self._playback = playback
        ffmpeg = hearth.ffmpeg or Path(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")
        folder = hearth.data_dir / "downloads"
        self.maker = CopyMaker(ffmpeg, folder, playback.capacity, _preset())
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.create_task(self._sweep_hourly(), name="downloads-sweep")

    async def sweep(self) -> None:
        """Delete copies nobody waits for: every asker stored or removed it, or asked more than
        UNCLAIMED_DAYS ago."""
        since = now_text(-UNCLAIMED_DAYS * 86400.0)
        keep = await self._catalog.read(lambda db: store.copies_wanted_blocking(db, since))
        self.maker.drop(keep)

    async def _sweep_hourly(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(SWEEP_EVERY)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.maker.close()

    # -- what a download is, as the app shows it

    async def _copy_job(self, principal: Principal, item_id: str, quality: str) -> CopyJob:
        """The phone-sized copy of a video this person may see: made, under way or queued."""
        found = await self._catalog.read(lambda db: item_file_blocking(db, item_id, principal))
        if found is None:
            raise ApiError(404, NOT_FOUND, "item_not_found")
        if not found.online:
            raise ApiError(410, f"The drive holding '{found.library}' is not connected.",
                           "library_offline")  # fmt: skip
        path = await self._playback.library_path(found.path)
        st = await asyncio.to_thread(os.stat, path)
        duration = _duration(found.probe)
        name = copy_name(item_id, quality, st.st_size, st.st_mtime_ns)
        return self.maker.want(name, path, quality, duration)

    async def _shape(
        self, principal: Principal, held: store.Held, item: store.Wanted
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": held.public_id,
            "item": item.id,
            "kind": item.kind,
            "title": item.title,
            "parent_title": item.parent_title,
            "duration": item.duration,
            "quality": held.quality,
            "url": f"/api/downloads/{held.public_id}/file",
            "stored": held.stored_at is not None,
            "state": "ready",
            "progress": 1.0,
            "size": item.size,
            "error": None,
        }
        # a copy already stored on the device is not made again just to be listed
        if held.quality != "original" and held.stored_at is None:
            job = await self._copy_job(principal, item.id, held.quality)
            record.update(state=job.state, progress=round(job.progress, 3), error=job.error)
            ready = job.state == "ready"
            record["size"] = (await asyncio.to_thread(job.target.stat)).st_size if ready else None
        elif held.quality != "original":
            record["size"] = None  # the copy's size is the device's to know now
        return record

    async def _records(self, principal: Principal, public_id: str | None) -> list[dict[str, Any]]:
        def read(db: Any) -> list[tuple[store.Held, store.Wanted | None]]:
            return [
                (held, store.visible_item_blocking(db, held, principal))
                for held in store.held_blocking(db, principal, public_id)
            ]

        pairs = await self._catalog.read(read)
        return [await self._shape(principal, h, item) for h, item in pairs if item is not None]

    # -- handlers

    async def post_downloads(self, request: web.Request) -> web.Response:
        """Ask to download an item (a season, show or album: its items) or a playlist."""
        principal = device_of(request)
        body = await json_body(request)
        quality = body.get("quality", "original")
        if quality not in QUALITIES:
            raise ApiError(400, f"'quality' is one of {', '.join(QUALITIES)}.", "bad_body")
        item_id, playlist_id = body.get("item"), body.get("playlist")
        if not isinstance(item_id or playlist_id, str) or (item_id and playlist_id):
            raise ApiError(400, "Name an 'item' or a 'playlist' (by id).", "bad_body")

        def read(db: Any) -> list[store.Wanted] | None:
            if isinstance(playlist_id, str):
                return store.playlist_items_blocking(db, playlist_id, principal)
            return store.wanted_items_blocking(db, str(item_id), principal)

        items = await self._catalog.read(read)
        if items is None:
            raise ApiError(404, NOT_FOUND, "item_not_found")
        if not items:
            raise ApiError(400, "There is nothing here to download.", "nothing_to_download")

        def version(item: store.Wanted) -> str:  # music and photos come as they are
            return quality if item.kind in store.VIDEO_KINDS else "original"

        def hold(db: Any) -> list[str]:  # in the order asked, in one transaction
            return [store.hold_blocking(db, principal, [i], version(i))[0] for i in items]

        ids = await self._catalog.write(hold)
        records = {r["id"]: r for r in await self._records(principal, None)}
        return web.json_response({"downloads": [records[i] for i in ids if i in records]})

    async def get_downloads(self, request: web.Request) -> web.Response:
        """This device's downloads with their state (a copy's making shows its progress)."""
        return web.json_response({"downloads": await self._records(device_of(request), None)})

    async def get_download(self, request: web.Request) -> web.Response:
        found = await self._records(device_of(request), request.match_info["id"])
        if not found:
            raise ApiError(404, "No such download on this device.", "not_found")
        return web.json_response(found[0])

    async def get_file(self, request: web.Request) -> web.StreamResponse:
        """The bytes, with Range (a broken download resumes), as the asker may see it now."""
        principal = device_of(request)
        public_id = request.match_info["id"]

        def read(db: Any) -> tuple[store.Held | None, store.Wanted | None]:
            held = next(iter(store.held_blocking(db, principal, public_id)), None)
            return held, (store.visible_item_blocking(db, held, principal) if held else None)

        held, item = await self._catalog.read(read)
        if held is None or item is None:
            raise ApiError(404, NOT_FOUND, "item_not_found")
        disposition = {"Cache-Control": "private, no-transform"}
        if held.quality == "original":
            found = await self._catalog.read(lambda db: item_file_blocking(db, item.id, principal))
            if found is None:
                raise ApiError(404, NOT_FOUND, "item_not_found")
            if not found.online:
                raise ApiError(410, f"The drive holding '{found.library}' is not connected.",
                               "library_offline")  # fmt: skip
            headers = {"Content-Type": content_type(found.path.name), **disposition}
            roots = LibraryRoots.of(self._sources.values())
            return await send_file(request, found.path, headers, roots)
        job = await self._copy_job(principal, item.id, held.quality)
        if job.state != "ready":
            raise ApiError(
                409,
                f"The {held.quality} version is still being made ({job.progress:.0%}); "
                "ask again when its state is ready.",
                "not_ready",
                **{"Retry-After": "10"},
            )
        return await send_server_file(
            request, job.target, {"Content-Type": "video/mp4", **disposition}
        )

    async def post_stored(self, request: web.Request) -> web.Response:
        """The device has the whole file: a made copy need not wait for it any more."""
        principal = device_of(request)
        public_id = request.match_info["id"]
        if not await self._catalog.write(
            lambda db: store.mark_stored_blocking(db, principal, public_id)
        ):
            raise ApiError(404, "No such download on this device.", "not_found")
        await self.sweep()
        return web.json_response({"stored": True})

    async def delete_download(self, request: web.Request) -> web.Response:
        principal = device_of(request)
        public_id = request.match_info["id"]
        await self._catalog.write(lambda db: store.release_blocking(db, principal, [public_id]))
        await self.sweep()
        return web.json_response({"removed": True})

    async def get_check(self, request: web.Request) -> web.Response:
        """Check my downloads: keep or delete, for each download this device holds. Delete
        when the person may no longer see the item or the server does not know the download
        (forgotten then). A revoked session never gets here: it is answered 401."""
        principal = device_of(request)
        ids = [i for i in (request.query.get("ids") or "").split(",") if i][: store.MAX_ITEMS]

        def read(db: Any) -> dict[str, str]:
            verdicts = dict.fromkeys(ids, "delete")
            for held in store.held_blocking(db, principal):
                if held.public_id in verdicts:
                    visible = store.visible_item_blocking(db, held, principal) is not None
                    verdicts[held.public_id] = "keep" if visible else "delete"
            return verdicts

        verdicts = await self._catalog.read(read)
        ended = [i for i, verdict in verdicts.items() if verdict == "delete"]
        if ended:
            await self._catalog.write(lambda db: store.release_blocking(db, principal, ended))
            await self.sweep()
        return web.json_response({"downloads": verdicts})


def _duration(probe: dict[str, Any] | None) -> float | None:
    with contextlib.suppress(TypeError, ValueError, KeyError):
        return float((probe or {})["format"]["duration"])
    return None


def download_routes(downloads: Downloads) -> list[RouteSpec]:
    """Ask, list, fetch, mark stored, delete, and check a device's downloads."""
    tags = ("downloads",)
    body = {
        "type": "object",
        "properties": {
            "item": {"type": "string"},
            "playlist": {"type": "string"},
            "quality": {"type": "string", "enum": list(QUALITIES)},
        },
    }
    ids = (Param("ids", "comma-separated download ids this device holds", required=True),)
    return [
        RouteSpec(
            "GET",
            "/api/downloads/check",
            downloads.get_check,
            "Check my downloads",
            tags=tags,
            query=ids,
        ),
        RouteSpec("GET", "/api/downloads", downloads.get_downloads, tags=tags),
        RouteSpec("POST", "/api/downloads", downloads.post_downloads, tags=tags, request_body=body),
        RouteSpec("GET", "/api/downloads/{id}", downloads.get_download, tags=tags),
        RouteSpec("DELETE", "/api/downloads/{id}", downloads.delete_download, tags=tags),
        RouteSpec(
            "GET",
            "/api/downloads/{id}/file",
            downloads.get_file,
            tags=tags,
            responses={"206": "part of the file", "409": "still being made"},
        ),
        RouteSpec("POST", "/api/downloads/{id}/stored", downloads.post_stored, tags=tags),
    ]
