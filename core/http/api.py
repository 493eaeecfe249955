"""The core's API, assembled in one place from the few objects each part of it uses.

Each core route module is a function, or a handler class, over what it reads — the catalog, the
authenticator, the bus, the registries, the scans, the playback engine — returning a
`list[RouteSpec]`; none of them sees the hub. The hub opens those objects and hands them here in
one `CoreObjects`; `add_api` registers every route as the core's. Plugins add theirs through their
contexts, and health and the OpenAPI document come from core.http.core_api. Nothing here serves a
request or starts anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.downloads.api import download_routes
from core.enrichment.api import MatchApi, enrichment_routes
from core.library.api import THUMB_CACHE, LibraryApi, library_routes
from core.library.lan import PluginDetails, lan_routes
from core.people.app_passwords import AppPasswordsApi, app_password_routes
from core.people.auth_api import AuthApi, auth_routes
from core.people.links import link_routes
from core.people.me_api import MeApi, me_routes
from core.people.playlists_api import playlist_routes
from core.people.profiles_api import ProfilesApi, profile_routes
from core.people.users_api import UsersApi, users_routes
from core.people.watch_api import WatchApi, watch_routes
from core.playback.stream import stream_routes
from core.privacy import privacy_routes

if TYPE_CHECKING:
    from core.bus import EventBus
    from core.catalog import Catalog
    from core.configuration import Configuration
    from core.downloads.api import Downloads
    from core.egress_ledger import EgressLedger
    from core.enrichment.queue import EnrichmentQueue
    from core.http.routes import RouteSpec, RouteTable
    from core.kinds import LibrarySource, MetadataEnricher, Relay
    from core.library.stills import StillsJob
    from core.people.middleware import Authenticator
    from core.playback.engine import PlaybackEngine
    from core.registry import Registry
    from core.scan.manager import ScanManager


@dataclass(frozen=True, slots=True)
class CoreObjects:
    """What the core's routes are built from: long-lived objects the hub owns, nothing more."""

    config: Configuration
    catalog: Catalog
    bus: EventBus
    authenticator: Authenticator
    auth: AuthApi
    sources: Registry[LibrarySource]
    relays: Registry[Relay]
    scans: ScanManager
    playback: PlaybackEngine
    stills: StillsJob | None
    ledger: EgressLedger
    running: PluginDetails
    enrichers: Registry[MetadataEnricher]
    enrichment: EnrichmentQueue | None  # None for a one-shot command
    downloads: Downloads


def api_routes(core: CoreObjects) -> list[RouteSpec]:
    """Every core route, in the order they are registered."""
    catalog, auth = core.catalog, core.auth
    thumbnails = core.config.hearth.data_dir / THUMB_CACHE
    library = LibraryApi(catalog, core.sources, core.scans, thumbnails, core.stills)
    return [
        *enrichment_routes(MatchApi(catalog, core.enrichers, core.enrichment)),  # Fix match
        *download_routes(core.downloads),  # offline copies, held per device
        *library_routes(library),
        *lan_routes(catalog, core.bus, core.running),  # what TVs see, and their rating limit
        *stream_routes(catalog, core.sources, core.playback),
        *link_routes(catalog),  # links for VLC, Kodi and TVs
        *core.playback.routes(),
        *auth_routes(auth),
        *profile_routes(ProfilesApi(catalog, auth)),
        *users_routes(UsersApi(catalog, core.authenticator, core.bus, core.relays, auth)),
        *watch_routes(WatchApi(catalog)),
        *me_routes(MeApi(catalog, core.authenticator, auth)),
        *app_password_routes(AppPasswordsApi(catalog, auth.secret_box)),
        *privacy_routes(catalog, core.config, core.ledger),
        *playlist_routes(catalog),
    ]


def add_api(table: RouteTable, core: CoreObjects) -> None:
    """Register every core route, owned by the core."""
    for spec in api_routes(core):
        table.add(spec, "core")
