"""Music apps: the Subsonic 1.16.1 / OpenSubsonic API under `/rest/*`, on the main HTTP port.

Phone and desktop apps (Symfonium, DSub, Substreamer, Feishin, Amperfy, play:Sub, Tempo) sign
each call with an OpenSubsonic `apiKey` (a Hearth device key) or an app password (`auth.py`),
never the account password. Each person sees only what their grants and rating limits allow.
It connects to nothing. Endpoint modules register their handlers in `ENDPOINT_MODULES`'
`register(endpoints)`; `routes.py` dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.plugin_api import LibraryChanged, PluginContext, no_options
from plugins.subsonic import (
    annotation,
    bookmarks,
    browse,
    lists,
    lyrics,
    media,
    now_playing,
    playlists,
    queue,
    search,
    stars,
    system,
)
from plugins.subsonic.auth import SubsonicAuth
from plugins.subsonic.routes import Endpoints, subsonic_routes

__all__ = ["CONFIG_SCHEMA", "setup"]


@dataclass(frozen=True, slots=True)
class SubsonicConfig:
    """No options yet: `subsonic:` alone turns the API on."""


CONFIG_SCHEMA = no_options(SubsonicConfig)


# each endpoint module's `register(endpoints)`; add a module here to serve its endpoints
ENDPOINT_MODULES: tuple[Callable[[Endpoints], None], ...] = (
    system.register,
    browse.register,
    lists.register,
    search.register,
    media.register,
    annotation.register,
    playlists.register,
    lyrics.register,
    bookmarks.register,
    stars.register,
    queue.register,
    now_playing.register,
)


async def setup(ctx: PluginContext, config: SubsonicConfig) -> None:
    """Register every endpoint and the `/rest/*` routes."""
    endpoints = Endpoints()
    for register in ENDPOINT_MODULES:
        register(endpoints)
    ctx.state = endpoints
    ctx.subscribe(LibraryChanged, endpoints.cache.changed)
    ctx.subscribe(LibraryChanged, endpoints.searches.changed)
    ctx.add_routes(subsonic_routes(ctx, endpoints, SubsonicAuth(ctx)))
    ctx.report({"endpoints": len(endpoints.names())})
