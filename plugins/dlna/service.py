"""What the DLNA handlers share: who the device is, which libraries TVs may see, the
SystemUpdateID, and the folder indexes.

What TVs may see is decided by the core's LAN principal (`lan_principal_blocking`): only
libraries the owner marked LAN-visible, under the plugin's `max_rating`, further narrowed by the
plugin's own `libraries` list; every item query carries that principal's clause.

SystemUpdateID lives in memory only (idle means no writes): it starts from the clock, so it
still moves forward across restarts, and steps on every `LibraryChanged`. Requests must name
the server by IP address (or `localhost`) in `Host`, which turns away DNS-rebinding pages in a
browser on the LAN. It never writes to the catalog.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from yarl import URL

from core.plugin_api import (
    ApiError,
    Database,
    LibraryChanged,
    PluginContext,
    lan_principal_blocking,
)
from plugins.dlna.config import DlnaConfig
from plugins.dlna.events import Eventing
from plugins.dlna.folders import FolderIndex, build_index_blocking, subtitles_blocking
from plugins.dlna.fragments import FragmentStore
from plugins.dlna.objects import Library
from plugins.dlna.pages import PageCache
from plugins.dlna.prerender import Prerenderer
from plugins.dlna.profiles import SOURCE_PROTOCOLS
from plugins.dlna.scpd import CONTENT_DIRECTORY, SERVICES
from plugins.dlna.subtitles import SubtitleNames
from plugins.dlna.tree import BrowseTree

T = TypeVar("T")
Clause = tuple[str, list[Any]]
_UDN_NAMESPACE = uuid.UUID("3f2c9a4e-5b1d-4e8a-9c07-6d2b8e1f4a10")


def check_host(request: web.Request) -> None:
    """Refuse a request whose Host is a name rather than an address (DNS rebinding)."""
    host = request.host
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError as err:
        raise ApiError(403, "Address this server by its IP address.", "host_not_allowed") from err


def base_url(request: web.Request) -> str:
    """Where the asking device reached us: the base of every URL handed to it."""
    return f"http://{request.host}"


class DlnaService:
    """State for one running plugin."""

    def __init__(self, ctx: PluginContext, config: DlnaConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.udn = f"uuid:{uuid.uuid5(_UDN_NAMESPACE, ctx.server_id)}"
        self.friendly_name = config.friendly_name or ctx.server_name
        self.system_update_id = int(time.time()) % 2**32
        self.icons: dict[str, bytes] = {}
        self._folders: dict[int, tuple[int, FolderIndex]] = {}
        self._subtitle_maps: dict[int, tuple[int, dict[tuple[bytes, bytes], list[str]]]] = {}
        self.pages = PageCache()
        self.fragments = FragmentStore(ctx.data_dir / "didl.db")
        self.prerender = Prerenderer(
            self.fragments,
            ctx.catalog,
            self._subtitles,
            ctx.logger,
            ctx.scans_idle,
            self._subtitle_maps.clear,  # only preparing uses them: not kept once it is done
        )
        self.events = Eventing(self.event_values, self._notify, ctx.create_task)

    def library_changed(self, event: LibraryChanged) -> None:
        """Something changed: TVs re-read what they cached, folder indexes are rebuilt, the
        library's stored items are rendered again."""
        self.system_update_id = (self.system_update_id + 1) % 2**32
        self._folders.clear()
        self._subtitle_maps.clear()
        self.pages.clear()
        self.prerender.changed(event.library_id)
        self.events.changed(CONTENT_DIRECTORY.short)

    def event_values(self, short: str) -> list[tuple[str, str]]:
        """A service's evented variables and their values now."""
        now = {
            "SystemUpdateID": str(self.system_update_id),
            "SourceProtocolInfo": SOURCE_PROTOCOLS,
            "SinkProtocolInfo": "",
            "CurrentConnectionIDs": "0",
        }
        spec = next(s for s in SERVICES if s.short == short)
        return [(v.name, now.get(v.name, "0")) for v in spec.variables if v.events]

    async def _notify(self, url: URL, headers: Mapping[str, str], body: bytes) -> int:
        response = await self.ctx.http.request(
            "NOTIFY",
            url,
            purpose="tell a subscribed TV that the library changed",
            headers=headers,
            data=body,
            time_limit=5.0,
            max_bytes=4096,
        )
        return response.status

    def _subtitles(self, db: Database) -> SubtitleNames:
        """Subtitle names for preparing DIDL: a small map per library, not the folder index
        (which holds every item, and is built only when a TV browses folders)."""

        def names(library_id: int, root: bytes, folder: bytes) -> list[str]:
            update_id = self.system_update_id
            cached = self._subtitle_maps.get(library_id)
            if cached is None or cached[0] != update_id:
                cached = (update_id, subtitles_blocking(db, library_id))
                self._subtitle_maps[library_id] = cached
            return cached[1].get((root, folder), [])

        return names

    def visible_blocking(self, db: Database, table: str = "items") -> Clause:
        """The condition (over `table`) for items TVs may see, with its arguments."""
        return lan_principal_blocking(db, self.config.max_rating).item_clause(table)

    def libraries_blocking(self, db: Database) -> dict[int, Library]:
        """Online, LAN-visible libraries TVs may see, by id."""
        wanted = self.config.libraries
        rows = db.execute(
            "SELECT id, name, kind FROM libraries WHERE online = 1 AND lan_visible = 1"
        ).fetchall()
        return {
            row[0]: Library(row[0], row[1], row[2])
            for row in rows
            if wanted is None or row[1] in wanted
        }

    def folder_index_blocking(self, db: Database, library_id: int) -> FolderIndex:
        update_id = self.system_update_id
        cached = self._folders.get(library_id)
        if cached is not None and cached[0] == update_id:
            return cached[1]
        index = build_index_blocking(db, library_id, self.visible_blocking(db))
        self._folders[library_id] = (update_id, index)
        return index

    async def read_tree(self, work: Callable[[BrowseTree], T]) -> T:
        """Run `work` against the browse tree in a catalog reader thread."""

        fragments = self.fragments.lookup_blocking if self.prerender.ready else None

        def run(db: Database) -> T:
            libraries = self.libraries_blocking(db)
            lan = lan_principal_blocking(db, self.config.max_rating)
            tree = BrowseTree(
                db,
                libraries,
                self.friendly_name,
                self.folder_index_blocking,
                lan.item_clause(),
                lan.item_clause("child"),
                fragments,
            )
            return work(tree)

        return await self.ctx.catalog.read(run)
